import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Client } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { TemporalConnection } from '@atom-gov/governance-client';
import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway.options.js';

/**
 * The gateway's one Temporal client. The connection is lazy: the gateway starts (and /healthz reports
 * "temporal: down") even while the cluster is unreachable, and reconnects when it comes back. Calls move to the
 * SDK's native transport once it connects (TemporalConnection: less work on the gateway's event loop).
 */
@Injectable()
export class TemporalClientService implements OnApplicationShutdown {
  readonly connection: TemporalConnection;
  private readonly logger = new Logger('Temporal');
  private nativeFailureLogged = false;
  readonly client: Client;
  readonly namespace: string;
  readonly taskQueue: string;

  constructor(@Inject(GATEWAY_OPTIONS) options: GatewayOptions) {
    this.namespace = options.config.temporal.namespace;
    this.taskQueue = options.config.temporal.taskQueue;
    this.connection = new TemporalConnection({
      address: options.temporalAddress,
      connectTimeoutMs: 3_000,
      onTransport: (event) => {
        if (event.native) return this.logger.log(`calls to ${options.temporalAddress} use the native transport`);
        // Once, not at every retry while Temporal is down (/healthz says so meanwhile).
        if (this.nativeFailureLogged) return;
        this.nativeFailureLogged = true;
        this.logger.warn(
          `native transport to ${options.temporalAddress} not connected; calls use the JS connection and it is retried: ${String(event.error)}`,
        );
      },
    });
    this.client = new Client({
      connection: this.connection,
      namespace: this.namespace,
      // With tracing configured, the active span (a governed call's) goes into the workflow's headers.
      interceptors: { workflow: options.config.telemetry?.otlp ? [new OpenTelemetryWorkflowClientInterceptor()] : [] },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }
}
