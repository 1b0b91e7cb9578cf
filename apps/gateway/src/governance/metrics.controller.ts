import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { GovMetrics } from '@atom-gov/metrics';
import { GOV_METRICS } from './governance-metrics.js';

/** Prometheus text exposition of this gateway's metrics (scrape target; `atom-gov metrics` reads it too). */
@Controller()
export class MetricsController {
  constructor(@Inject(GOV_METRICS) private readonly metrics: GovMetrics) {}

  @Get('metrics')
  async metricsText(@Res() res: Response): Promise<void> {
    const text = await this.metrics.exposition();
    res.setHeader('content-type', this.metrics.contentType);
    res.setHeader('cache-control', 'no-store');
    res.status(200).send(text);
  }
}
