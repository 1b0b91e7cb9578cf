import { Controller, Get, Header, Inject, ServiceUnavailableException } from '@nestjs/common';
import { type HealthReport, HealthService } from './health.service.js';

@Controller()
export class HealthController {
  constructor(@Inject(HealthService) private readonly health: HealthService) {}

  /**
   * 200 when Temporal, the worker and the audit store are up (status ok, or degraded naming a failing checkpoint or
   * trail-file write); 503 naming what is down otherwise.
   */
  @Get('healthz')
  @Header('cache-control', 'no-store')
  async healthz(): Promise<HealthReport> {
    const report = await this.health.check();
    if (report.status === 'down') throw new ServiceUnavailableException(report);
    return report;
  }
}
