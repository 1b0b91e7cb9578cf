// Thin edge: /mcp/:server (POST, GET, DELETE) -> caller identity -> McpGateway (Streamable HTTP, both eras);
// /mcp alone is the aggregate endpoint (every server the caller may use; opt-in: gateway.aggregate).
import { All, Controller, Inject, Param, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AGGREGATE_SERVER, type CallerIdentity } from '@atom-gov/mcp';
import { resolveCaller } from './caller-identity.js';
import { McpService } from './mcp.service.js';

type RawRequest = IncomingMessage & { body?: unknown };

const UNAUTHENTICATED = { tenant: 'unauthenticated', user: 'unauthenticated', roles: [] };

@Controller('mcp')
export class McpController {
  constructor(@Inject(McpService) private readonly mcp: McpService) {}

  @All()
  async aggregate(@Req() req: RawRequest, @Res() res: ServerResponse): Promise<void> {
    const caller = await this.caller(AGGREGATE_SERVER, req, res);
    if (!caller) return;
    await this.mcp.gateway.handleAggregate(req, res, {
      identity: caller,
      parsedBody: parsedBody(req),
      remoteAddress: req.socket.remoteAddress,
    });
  }

  @All(':server')
  async handle(@Param('server') server: string, @Req() req: RawRequest, @Res() res: ServerResponse): Promise<void> {
    const caller = await this.caller(server, req, res);
    if (!caller) return;
    await this.mcp.gateway.handle(server, req, res, {
      identity: caller,
      parsedBody: parsedBody(req),
      remoteAddress: req.socket.remoteAddress,
    });
  }

  /** The caller's identity, or undefined after answering 401 (audited as the unauthenticated caller). */
  private async caller(server: string, req: RawRequest, res: ServerResponse): Promise<CallerIdentity | undefined> {
    const caller = resolveCaller(header(req, 'authorization'), this.mcp.options.config.gateway);
    if (!caller.ok) {
      // Audited (as the unauthenticated caller) before the answer leaves; the audit append fails closed.
      await this.mcp.gateway.recordRejected(
        server,
        UNAUTHENTICATED,
        `http ${req.method ?? '?'}`,
        caller.status,
        caller.message,
      );
      res.writeHead(caller.status, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: caller.message }, id: null }));
      return undefined;
    }
    return caller.identity;
  }
}

/** A framework body parser may already have consumed the stream; its result is handed over when it did. */
function parsedBody(req: RawRequest): unknown {
  return req.body !== undefined && !isEmptyObject(req.body) ? req.body : undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isEmptyObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}
