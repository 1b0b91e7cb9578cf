import 'reflect-metadata';
import { type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { GatewayModule } from './gateway.module.js';
import { type GatewayOptions } from './gateway.options.js';
import { StderrLogger } from './stderr-logger.js';

export interface StartGatewayOptions extends GatewayOptions {
  /** Overrides config.gateway.port; 0 picks a free port (tests). */
  port?: number;
  /** Nest log levels; false silences Nest's own logger. Default: log, warn, error. */
  logger?: LogLevel[] | false;
}

export interface RunningGateway {
  /** http://host:port the gateway listens on. */
  readonly url: string;
  /** Stops accepting requests, closes MCP sessions and the upstream processes it started, then Temporal. */
  close(): Promise<void>;
}

/** Starts the NestJS gateway on config.gateway.host:port. */
export async function startGateway(opts: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = opts;
  const app = await NestFactory.create<NestExpressApplication>(
    GatewayModule.forRoot({
      config,
      temporalAddress: opts.temporalAddress,
      audit: opts.audit,
      ...(opts.governedProgressEveryMs !== undefined ? { governedProgressEveryMs: opts.governedProgressEveryMs } : {}),
      ...(opts.governedOutcomeTimeoutMs !== undefined
        ? { governedOutcomeTimeoutMs: opts.governedOutcomeTimeoutMs }
        : {}),
    }),
    {
      // The MCP controller reads raw bodies itself (size limits, JSON-RPC parsing by the MCP SDK).
      bodyParser: false,
      logger: opts.logger === false ? false : new StderrLogger({ logLevels: opts.logger ?? ['log', 'warn', 'error'] }),
      abortOnError: false,
    },
  );
  app.disable('x-powered-by');
  const host = config.gateway.host;
  try {
    await app.listen(opts.port ?? config.gateway.port, host);
  } catch (error) {
    await app.close();
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      throw new Error(
        `port ${opts.port ?? config.gateway.port} on ${host} is in use: stop the other process or choose another port (--port or gateway.port)`,
        { cause: error },
      );
    }
    throw error;
  }
  const address = app.getHttpServer().address();
  const port = address && typeof address === 'object' ? address.port : (opts.port ?? config.gateway.port);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}
