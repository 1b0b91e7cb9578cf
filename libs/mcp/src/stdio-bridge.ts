// `atom-gov proxy`: an MCP server on stdin/stdout that relays every message to the gateway's /mcp/<server>
// Streamable HTTP endpoint, so stdio assistants (Claude Desktop) share the running gateway's governance state.
// Messages are relayed unchanged between two SDK transports (framing stays the SDK's); the gateway owns ids.
import type { Readable, Writable } from 'node:stream';
import {
  StreamableHTTPClientTransport,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type JSONRPCRequest,
} from '@modelcontextprotocol/client';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { silentLogger, type McpLogger } from './types.js';

export interface StdioBridgeOptions {
  /** e.g. http://127.0.0.1:8700/mcp/everything */
  url: string;
  /** Sent on every HTTP request (Authorization: Bearer <key> when the gateway requires a key). */
  headers?: Record<string, string>;
  stdin?: Readable;
  stdout?: Writable;
  logger?: McpLogger;
}

/** Error code for requests the bridge could not deliver to the gateway. */
export const BRIDGE_UNAVAILABLE = -32000;

/** Runs until stdin closes; resolves after the gateway session was ended. */
export async function runStdioBridge(opts: StdioBridgeOptions): Promise<void> {
  const logger = opts.logger ?? silentLogger;
  const stdio = new StdioServerTransport(opts.stdin, opts.stdout);
  const headers = { ...opts.headers, 'x-atom-gov-transport': 'stdio' };
  let initialize: JSONRPCRequest | undefined;
  let initialized = false;
  let http = newHttp();
  let reopening: Promise<void> | undefined;

  function newHttp(): StreamableHTTPClientTransport {
    const t = new StreamableHTTPClientTransport(new URL(opts.url), { requestInit: { headers } });
    t.onmessage = (message) => {
      if (initialize && isJSONRPCResultResponse(message) && message.id === initialize.id) {
        const version = (message.result as { protocolVersion?: string }).protocolVersion;
        if (version) t.setProtocolVersion(version);
      }
      stdio.send(message).catch((error: unknown) => logger.warn(`bridge: cannot write to stdout: ${String(error)}`));
    };
    t.onerror = (error) => logger.warn(`bridge: ${error.message}`);
    return t;
  }

  /** The gateway forgot the session (restart, reaped): open a new one with the assistant's initialize. */
  function reopen(): Promise<void> {
    reopening ??= (async () => {
      await http.close().catch(() => {});
      http = newHttp();
      await http.start();
      if (!initialize) return;
      const answered = new Promise<void>((resolve, reject) => {
        const forward = http.onmessage!;
        http.onmessage = (message) => {
          if ('id' in message && message.id === initialize!.id) {
            http.onmessage = forward;
            if (isJSONRPCResultResponse(message)) {
              const version = (message.result as { protocolVersion?: string }).protocolVersion;
              if (version) http.setProtocolVersion(version);
              resolve();
            } else reject(new Error('the gateway refused to re-initialize the session'));
            return;
          }
          forward(message);
        };
      });
      await http.send(initialize);
      await answered;
      if (initialized) await http.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    })().finally(() => (reopening = undefined));
    return reopening;
  }

  async function relay(message: JSONRPCMessage): Promise<void> {
    if (reopening) await reopening.catch(() => {});
    if (isJSONRPCRequest(message) && message.method === 'initialize') initialize = message;
    if ('method' in message && message.method === 'notifications/initialized') initialized = true;
    let failure: unknown;
    try {
      await http.send(message);
      return;
    } catch (error) {
      failure = error;
    }
    const status = (failure as { data?: { status?: unknown } }).data?.status;
    if (status === 404 && initialize !== undefined && message !== initialize) {
      try {
        await reopen();
        await http.send(message);
        return;
      } catch (retryError) {
        failure = retryError;
      }
    }
    const reason = (failure as Error).message;
    logger.warn(`bridge: cannot reach the gateway: ${reason}`);
    if (isJSONRPCRequest(message)) {
      await stdio.send({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: BRIDGE_UNAVAILABLE, message: `ATOM-GOV gateway unavailable at ${opts.url}: ${reason}` },
      });
    }
  }

  const done = new Promise<void>((resolve) => {
    stdio.onclose = () => resolve();
  });
  // Relay in arrival order: a request must not overtake the initialize before it.
  let chain = Promise.resolve();
  stdio.onmessage = (message) => {
    chain = chain.then(() => relay(message)).catch((error: unknown) => logger.error(`bridge: ${String(error)}`));
  };
  stdio.onerror = (error) => logger.warn(`bridge: stdin: ${error.message}`);
  await http.start();
  await stdio.start();
  await done;
  await chain;
  await http.terminateSession().catch(() => {});
  await http.close().catch(() => {});
}
