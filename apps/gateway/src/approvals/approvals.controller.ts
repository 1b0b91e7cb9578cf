import { Controller, Get, Inject, Logger, Optional, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway.options.js';
import { confirmPage, problemPage, resultPage } from './approval-page.js';
import { ApprovalPageError, ApprovalsService } from './approvals.service.js';

const COOKIE = 'atom_gov_csrf';
const MAX_FORM_BYTES = 8 * 1024;

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

async function readForm(req: Request): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new ApprovalPageError(415, 'Unsupported form', 'Submit the form on the approval page.');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES)
      throw new ApprovalPageError(413, 'Form too large', 'Keep the reason under 500 characters.');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** GET shows the email link's confirmation page and changes nothing; POST decides (CSRF-protected, once). */
@Controller('approvals')
export class ApprovalsController {
  private readonly logger = new Logger('Approvals');

  constructor(
    @Inject(ApprovalsService) private readonly approvals: ApprovalsService,
    @Optional() @Inject(GATEWAY_OPTIONS) private readonly gateway?: GatewayOptions,
  ) {}

  @Get(':token')
  async show(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    secure(res);
    try {
      const { claims, state } = await this.approvals.view(token);
      let nonce = cookie(req, COOKIE);
      if (!nonce || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) {
        nonce = this.approvals.newNonce();
        const https = req.protocol === 'https' || req.headers['x-forwarded-proto'] === 'https';
        res.append(
          'Set-Cookie',
          `${COOKIE}=${nonce}; Path=/approvals; HttpOnly; SameSite=Strict; Max-Age=86400${https ? '; Secure' : ''}`,
        );
      }
      res.status(200).send(confirmPage(state, claims.approver, this.approvals.signer.csrfToken(claims.jti, nonce)));
    } catch (error) {
      await this.refused(req, token, error);
      this.problem(res, error);
    }
  }

  @Post(':token')
  async decide(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    secure(res);
    try {
      const form = await readForm(req);
      const claims = this.approvals.signer.verify(token);
      if (!this.approvals.checkCsrf(claims.jti, cookie(req, COOKIE), form.get('csrf') ?? undefined)) {
        throw new ApprovalPageError(
          403,
          'Please confirm again',
          'The form was not submitted from the approval page (missing or wrong security token). Open the link again and press the button.',
        );
      }
      const decision = form.get('decision');
      if (decision !== 'approve' && decision !== 'reject') {
        throw new ApprovalPageError(400, 'Choose Approve or Reject', 'The form did not say which decision you took.');
      }
      const reason = form.get('reason')?.trim().slice(0, 500) || undefined;
      const { claims: c, state } = await this.approvals.decide(token, decision, reason);
      res.status(200).send(resultPage(state, decision, c.approver));
    } catch (error) {
      await this.refused(req, token, error);
      this.problem(res, error);
    }
  }

  /**
   * Every refusal at this edge (bad, expired, tampered, used or other-approver links, CSRF failures, votes the
   * workflow's validator rejected) is audited before the page goes out. Approver and operation come only from a
   * link whose signature verified and which has not expired; otherwise nothing in the token is trusted.
   */
  private async refused(req: Request, token: string, error: unknown): Promise<void> {
    const audit = this.gateway?.audit;
    if (!audit) return;
    const { config } = this.gateway!;
    const page =
      error instanceof ApprovalPageError
        ? `${error.status} ${error.title}: ${error.message}`
        : `${(error as { problem?: string }).problem ?? 'error'}: ${(error as Error).message}`;
    const claims = this.trustedClaims(token);
    // A verified link names its operation: the refusal goes into that operation's tenant (tenant-scoped audits).
    const tenant = claims ? await this.approvals.tenantOf(claims.operationId) : undefined;
    await audit
      .append({
        time: new Date(),
        tenant: tenant ?? config.gateway.anonymous.tenant,
        user: claims?.approver ?? 'unknown',
        server: 'approvals',
        method: req.method === 'GET' ? 'approvals/view' : 'approvals/decide',
        ...(claims ? { target: claims.operationId, operationId: claims.operationId } : {}),
        decision: 'deny',
        outcome: 'denied',
        errorMessage: page,
        intent: 'email approval link refused',
        notes: ['channel: email'],
        configVersion: config.version,
        durationMs: 0,
        requestBytes: 0,
        responseBytes: 0,
      })
      .catch((e: unknown) => this.logger.error(`could not audit a refused approval link: ${String(e)}`));
  }

  private trustedClaims(token: string): { operationId: string; approver: string } | undefined {
    try {
      return this.approvals.signer.verify(token);
    } catch {
      return undefined;
    }
  }

  private problem(res: Response, error: unknown): void {
    if (error instanceof ApprovalPageError) {
      res.status(error.status).send(problemPage(error.title, error.message));
      return;
    }
    // ApprovalLinkError from verify() on POST is mapped by the service on GET; map it the same way here.
    const e = error as { problem?: string; message?: string };
    if (e.problem === 'expired') res.status(410).send(problemPage('This link has expired', e.message ?? ''));
    else if (e.problem === 'tampered')
      res
        .status(403)
        .send(problemPage('This link is not valid', 'The link was altered or was not issued by this gateway.'));
    else if (e.problem === 'malformed')
      res.status(400).send(problemPage('This is not an approval link', 'Check that the whole link was copied.'));
    else res.status(500).send(problemPage('Something went wrong', 'Your decision was not recorded. Try again.'));
  }
}

function secure(res: Response): void {
  res.type('html');
  res.set({
    'Cache-Control': 'no-store',
    // The token is in the URL: never leak it to other sites.
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy':
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
  });
}
