import { Controller, Get, Header, Inject, ServiceUnavailableException } from '@nestjs/common';
import { type HealthReport, HealthService } from './health.service.js';

@Controller()
export class HealthController {
  constructor(@Inject(HealthService) private readonly health: HealthService) {}

  /** 200 only when Temporal, the worker and the audit store are all up; 503 naming what is down otherwise. */
  @Get('healthz')
  @Header('cache-control', 'no-store')
  async healthz(): Promise<HealthReport> {
    const report = await this.health.check();
    if (report.status !== 'ok') throw new ServiceUnavailableException(report);
    return report;
  }
}
