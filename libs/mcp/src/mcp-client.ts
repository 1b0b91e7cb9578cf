// An MCP client of the running gateway for programs (`atom-gov call` in CI pipelines): the official SDK client over
// Streamable HTTP with the caller's API key, progress messages passed on, and failures named in words.
import {
  Client,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import type { McpResult } from './interceptor.js';

export interface GatewayClientOptions {
  /** Gateway base URL, e.g. http://127.0.0.1:8700. */
  url: string;
  server: string;
  /** Sent as `Authorization: Bearer <key>`; unset: the gateway's anonymous identity (when it allows one). */
  apiKey?: string;
  /** Client name in the MCP handshake (shows in the gateway's logs). */
  clientName?: string;
}

export interface GatewayToolCallOptions {
  /** Progress notifications of the call (the gateway's "waiting for approval: 1 of 2 ..." while it waits). */
  onProgress?: (message: string | undefined, progress: number, total?: number) => void;
  /** Give up after this long in total; the request is cancelled, so the gateway releases what it reserved. */
  maxTotalMs?: number;
  /** Give up when nothing (result or progress) arrived for this long. Default 120 s. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface GatewayTool {
  name: string;
  description?: string;
  inputSchema?: Record<string, unknown>;
}

/** Why a gateway call did not produce a result: `unreachable`, `unauthorised`, `not_found`, `timeout`, `protocol`. */
export class GatewayCallError extends Error {
  constructor(
    readonly kind: 'unreachable' | 'unauthorised' | 'not_found' | 'timeout' | 'protocol',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatewayCallError';
  }
}

export class GatewayClient {
  private constructor(
    private readonly client: Client,
    private readonly endpoint: string,
  ) {}

  /** Connects to `<url>/mcp/<server>` (handshake included); throws GatewayCallError naming what failed. */
  static async connect(opts: GatewayClientOptions): Promise<GatewayClient> {
    const endpoint = `${opts.url.replace(/\/+$/, '')}/mcp/${encodeURIComponent(opts.server)}`;
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch (error) {
      throw new GatewayCallError('unreachable', `'${opts.url}' is not a gateway URL (expected http://host:port)`, {
        cause: error,
      });
    }
    const client = new Client({ name: opts.clientName ?? 'atom-gov-call', version: '1' });
    const transport = new StreamableHTTPClientTransport(url, {
      requestInit: { headers: opts.apiKey !== undefined ? { authorization: `Bearer ${opts.apiKey}` } : {} },
    });
    try {
      await client.connect(transport);
    } catch (error) {
      await client.close().catch(() => undefined);
      throw explain(error, endpoint, opts.server);
    }
    return new GatewayClient(client, endpoint);
  }

  async listTools(): Promise<GatewayTool[]> {
    try {
      const { tools } = await this.client.listTools();
      return tools.map((t) => ({
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        inputSchema: t.inputSchema as Record<string, unknown>,
      }));
    } catch (error) {
      throw explain(error, this.endpoint);
    }
  }

  /** Calls a tool; resolves with the result as the gateway sent it (an `isError` result is a result, not a throw). */
  async callTool(name: string, args: Record<string, unknown>, opts: GatewayToolCallOptions = {}): Promise<McpResult> {
    // Our own deadline rather than the SDK's maxTotalTimeout (checked only when progress arrives): aborting sends
    // notifications/cancelled, so the gateway cancels the governed operation and releases its reservation.
    const controller = new AbortController();
    const timer =
      opts.maxTotalMs !== undefined
        ? setTimeout(() => controller.abort(new Error(`no result within ${opts.maxTotalMs} ms`)), opts.maxTotalMs)
        : undefined;
    const onAbort = () => controller.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await this.client.callTool(
        { name, arguments: args },
        {
          timeout: opts.idleTimeoutMs ?? 120_000,
          resetTimeoutOnProgress: true,
          signal: controller.signal,
          ...(opts.onProgress ? { onprogress: (p) => opts.onProgress?.(p.message, p.progress, p.total) } : {}),
        },
      );
      return result as McpResult;
    } catch (error) {
      if (controller.signal.aborted) {
        // The cancellation is sent in the background: one more round trip lets it reach the gateway before close.
        await this.client.ping({ timeout: 2000 }).catch(() => undefined);
        throw new GatewayCallError('timeout', `gave up on ${name}: ${String(controller.signal.reason)}`, {
          cause: error,
        });
      }
      throw explain(error, this.endpoint);
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}

function explain(error: unknown, endpoint: string, server?: string): GatewayCallError {
  if (error instanceof GatewayCallError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  if (error instanceof SdkHttpError) {
    if (error.status === 401 || error.status === 403)
      return new GatewayCallError(
        'unauthorised',
        `the gateway refused the credentials (HTTP ${error.status}): set ATOM_GOV_API_KEY to a key from gateway.api_keys`,
        { cause: error },
      );
    if (error.status === 404)
      return new GatewayCallError(
        'not_found',
        `the gateway has no server ${server !== undefined ? `'${server}'` : 'at this path'} (${endpoint}); check --server`,
        { cause: error },
      );
  }
  if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout)
    return new GatewayCallError('timeout', `no answer from ${endpoint} in time: ${detail}`, { cause: error });
  if (error instanceof ProtocolError)
    return new GatewayCallError('protocol', `${endpoint} answered with an error: ${detail}`, { cause: error });
  if (/fetch failed|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|socket/i.test(detail + String((error as Error)?.cause ?? '')))
    return new GatewayCallError('unreachable', `no gateway answers at ${endpoint} (is \`atom-gov start\` running?)`, {
      cause: error,
    });
  return new GatewayCallError('protocol', `${endpoint}: ${detail}`, { cause: error });
}
