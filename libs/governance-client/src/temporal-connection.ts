// The gateway's connection to Temporal. Governed calls go over the SDK's native transport (Temporal core, Rust):
// its gRPC and protobuf work runs on core's own threads instead of the gateway's event loop, which measured about
// 1.5 ms less main-thread CPU per governed operation than the JS gRPC transport. The native transport has no lazy
// mode, and the gateway must start (and /healthz report "temporal: down") while Temporal is unreachable, so calls
// go over a lazy JS connection until the native one is connected. The native connection is first tried when a
// call needs Temporal (a gateway that never governs a call starts no Temporal core threads), and again at most
// every `retryMs` after a failure; once connected it takes every new call.
import { Connection, type ConnectionLike, type Metadata } from '@temporalio/client';
import { IllegalStateError } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';

export interface TemporalConnectionOptions {
  /** host:port of the Temporal frontend. */
  address: string;
  /** Connect timeout of the JS connection (ms). */
  connectTimeoutMs?: number;
  /** Least time between two attempts to connect the native transport (ms). */
  retryMs?: number;
  /** Told when the native transport takes over, or why an attempt failed (for the log). */
  onTransport?: (event: { native: true } | { native: false; error: unknown }) => void;
}

export class TemporalConnection implements ConnectionLike {
  private readonly fallback: Connection;
  private native: NativeConnection | undefined;
  private connecting: Promise<void> | undefined;
  private nextAttemptAt = 0;
  private closed = false;

  constructor(private readonly opts: TemporalConnectionOptions) {
    this.fallback = Connection.lazy({ address: opts.address, connectTimeout: opts.connectTimeoutMs ?? 3_000 });
  }

  /** Which transport new calls use. */
  get transport(): 'native' | 'js' {
    return this.native ? 'native' : 'js';
  }

  /** The connection new calls go to; asking for it is what starts (or retries) the native connection. */
  private get current(): ConnectionLike {
    if (this.native) return this.native;
    this.connectNative();
    return this.fallback;
  }

  get workflowService(): ConnectionLike['workflowService'] {
    return this.current.workflowService;
  }

  get operatorService(): ConnectionLike['operatorService'] {
    return this.current.operatorService;
  }

  get plugins(): ConnectionLike['plugins'] {
    return this.current.plugins;
  }

  ensureConnected(): Promise<void> {
    return this.current.ensureConnected();
  }

  // A call made inside fn runs on the connection chosen here (fn reaches it through this object's services, which
  // pick the same connection unless the native one took over in between: then that call has no deadline/metadata
  // from this scope, which only matters for the one call in flight at the switch).
  withDeadline<R>(deadline: number | Date, fn: () => Promise<R>): Promise<R> {
    return this.current.withDeadline(deadline, fn);
  }

  withMetadata<R>(metadata: Metadata, fn: () => Promise<R>): Promise<R> {
    return this.current.withMetadata(metadata, fn);
  }

  withAbortSignal<R>(abortSignal: AbortSignal, fn: () => Promise<R>): Promise<R> {
    return this.current.withAbortSignal(abortSignal, fn);
  }

  /** Resolves when a connection attempt in progress has ended (tests, shutdown). */
  async settled(): Promise<void> {
    await this.connecting;
  }

  // Does not wait for a connection attempt in flight (against an address that drops packets it could take the
  // core's whole connect timeout): that attempt closes what it gets once it sees `closed`.
  async close(): Promise<void> {
    this.closed = true;
    const native = this.native;
    this.native = undefined;
    await Promise.all([this.fallback.close(), native?.close()]);
  }

  private connectNative(): void {
    if (this.connecting || this.closed || Date.now() < this.nextAttemptAt) return;
    this.nextAttemptAt = Date.now() + (this.opts.retryMs ?? 5_000);
    this.connecting = (async () => {
      try {
        ensureRuntime();
        const native = await NativeConnection.connect({ address: this.opts.address });
        if (this.closed) {
          await native.close();
          return;
        }
        this.native = native;
        this.opts.onTransport?.({ native: true });
      } catch (error) {
        this.opts.onTransport?.({ native: false, error });
      } finally {
        this.connecting = undefined;
      }
    })();
  }
}

/**
 * The native transport needs Temporal core's runtime. A process that installed one (the CLI, a worker) keeps it;
 * otherwise one is installed that logs warnings only and does not take over SIGINT/SIGTERM (the SDK's default
 * would, and the gateway's host process decides how it stops).
 */
function ensureRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  } catch (error) {
    if (!(error instanceof IllegalStateError)) throw error;
  }
}
