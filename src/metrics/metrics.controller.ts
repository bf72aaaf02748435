import { Controller, Get, Header, Res } from '@nestjs/common';
import type { Response } from 'express';
import { StorageMetrics } from '@app/storage/metrics';

/** Prometheus scrape endpoint (text exposition format). */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: StorageMetrics) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(@Res() response: Response): Promise<void> {
    const { contentType, body } = await this.metrics.scrape();
    response.setHeader('Content-Type', contentType);
    response.send(body);
  }
}
