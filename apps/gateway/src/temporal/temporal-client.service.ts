import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway.options.js';

/**
 * The gateway's one Temporal client. The connection is lazy: the gateway starts (and /healthz reports
 * "temporal: down") even while the cluster is unreachable, and reconnects when it comes back.
 */
@Injectable()
export class TemporalClientService implements OnApplicationShutdown {
  readonly connection: Connection;
  readonly client: Client;
  readonly namespace: string;
  readonly taskQueue: string;

  constructor(@Inject(GATEWAY_OPTIONS) options: GatewayOptions) {
    this.namespace = options.config.temporal.namespace;
    this.taskQueue = options.config.temporal.taskQueue;
    this.connection = Connection.lazy({ address: options.temporalAddress, connectTimeout: 3_000 });
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
