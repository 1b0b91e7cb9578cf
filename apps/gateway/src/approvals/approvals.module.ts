import { type DynamicModule, Module } from '@nestjs/common';
import { ApprovalsController } from './approvals.controller.js';
import { APPROVALS_OPTIONS, type ApprovalsOptions, ApprovalsService } from './approvals.service.js';

/** Email approval links: GET /approvals/:token (confirmation page) and POST (decision). */
@Module({})
export class ApprovalsModule {
  static forRoot(options: ApprovalsOptions): DynamicModule {
    return {
      module: ApprovalsModule,
      controllers: [ApprovalsController],
      providers: [{ provide: APPROVALS_OPTIONS, useValue: options }, ApprovalsService],
    };
  }
}
