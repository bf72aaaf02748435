import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import type { Response } from 'express';
import { StorageHealthIndicator } from '@app/storage/health';

/** Kubernetes probes: liveness never touches a backend; readiness checks every required one. */
@Controller('health')
export class HealthController {
  private readonly startedAt = Date.now();

  constructor(
    private readonly health: HealthCheckService,
    private readonly storage: StorageHealthIndicator,
  ) {}

  /** The process is up and answering. A restart would not fix a backend outage, so none is checked. */
  @Get('live')
  live(): HealthCheckResult {
    const process = { status: 'up' as const, uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000) };
    return { status: 'ok', info: { process }, error: {}, details: { process } };
  }

  /**
   * Every required provider and the registry database answer: 200 (`ok`, or `degraded` when an
   * optional provider is down), else 503 with the failing checks under `error`.
   */
  @Get('ready')
  @HealthCheck()
  async ready(@Res({ passthrough: true }) response: Response): Promise<HealthCheckResult> {
    try {
      return await this.health.check(this.storage.readinessChecks());
    } catch (error) {
      // Answered here, not by the global filter, which would reduce the report to a message.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      response.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
