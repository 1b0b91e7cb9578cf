import type { OperationState } from '@atom-gov/contracts';

// Server-rendered, no JavaScript, no external assets: works in any mail client's browser and under a strict CSP.
const CSS = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#f5f6f8;--ok:#137a43;--bad:#b42318;--accent:#2f5bea}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{background:#111827;color:#fff;padding:14px 24px;font-weight:600;letter-spacing:.02em}
header span{color:#9ca3af;font-weight:400;margin-left:8px}
main{max-width:720px;margin:32px auto;padding:0 16px}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:24px;box-shadow:0 1px 2px rgba(0,0,0,.04)}
h1{font-size:20px;margin:0 0 4px}p.sub{color:var(--muted);margin:0 0 20px}
dl{display:grid;grid-template-columns:150px 1fr;gap:8px 16px;margin:0 0 20px}dt{color:var(--muted)}dd{margin:0;word-break:break-word}
pre{background:#f3f4f6;border:1px solid var(--line);border-radius:6px;padding:10px;white-space:pre-wrap;word-break:break-all;margin:0;font-size:13px}
label{display:block;font-weight:600;margin:0 0 6px}textarea{width:100%;min-height:72px;border:1px solid var(--line);border-radius:6px;padding:8px;font:inherit}
.actions{display:flex;gap:12px;margin-top:16px}button{border:0;border-radius:6px;padding:10px 22px;font:inherit;font-weight:600;color:#fff;cursor:pointer}
button.approve{background:var(--ok)}button.reject{background:var(--bad)}button:focus{outline:3px solid #93c5fd}
.badge{display:inline-block;border-radius:999px;padding:2px 10px;font-size:13px;font-weight:600;background:#eef2ff;color:var(--accent)}
.ok{color:var(--ok)}.bad{color:var(--bad)}footer{color:var(--muted);font-size:12px;text-align:center;margin:24px 0}
`;

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${esc(title)} · ATOM-GOV</title><style>${CSS}</style></head>
<body><header>ATOM-GOV<span>approvals</span></header><main>${body}</main>
<footer>ATOM-GOV governance gateway</footer></body></html>`;
}

function details(state: OperationState): string {
  const approvals = state.approvals.length
    ? state.approvals.map((v) => `${esc(v.approver)} <span class="badge">${esc(v.channel)}</span>`).join(', ')
    : 'none yet';
  return `<dl>
<dt>Operation</dt><dd><code>${esc(state.operationId)}</code></dd>
<dt>Tenant</dt><dd>${esc(state.tenant)}</dd>
<dt>Requested by</dt><dd>${esc(state.requesterRef)}</dd>
<dt>Tool</dt><dd><code>${esc(state.tool)}</code></dd>
<dt>Server</dt><dd>${esc(state.server)}</dd>
<dt>Policy</dt><dd>${esc(state.policy)}</dd>
<dt>Requested at</dt><dd>${esc(state.requestedAt)}</dd>
<dt>Deadline</dt><dd>${state.deadline ? esc(state.deadline) : 'none'}</dd>
<dt>Approvals</dt><dd>${state.approvals.length} of ${state.requiredApprovals}: ${approvals}</dd>
<dt>Arguments</dt><dd><pre>${esc(state.redactedArgs)}</pre></dd>
</dl>`;
}

/** GET: the operation and a form; nothing changes until the approver presses a button. */
export function confirmPage(state: OperationState, approver: string, csrf: string): string {
  return layout(
    `Approve ${state.tool}?`,
    `<div class="card"><h1>Approve <code>${esc(state.tool)}</code> on ${esc(state.server)}?</h1>
<p class="sub">Signed in by link as <strong>${esc(approver)}</strong>. This link works once.</p>
${details(state)}
<form method="post">
<input type="hidden" name="csrf" value="${esc(csrf)}">
<label for="reason">Reason <span style="font-weight:400;color:var(--muted)">(required to reject)</span></label>
<textarea id="reason" name="reason" maxlength="500"></textarea>
<div class="actions"><button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button class="reject" type="submit" name="decision" value="reject">Reject</button></div>
</form></div>`,
  );
}

export function resultPage(state: OperationState, decision: 'approve' | 'reject', approver: string): string {
  const verb = decision === 'approve' ? 'approved' : 'rejected';
  const status =
    state.decision === 'allow'
      ? '<p class="ok"><strong>The operation is approved.</strong></p>'
      : state.decision === 'deny'
        ? `<p class="bad"><strong>The operation is denied.</strong> ${esc(state.message ?? '')}</p>`
        : `<p>Waiting for more approvals: ${state.approvals.length} of ${state.requiredApprovals}.</p>`;
  return layout(
    `You ${verb}`,
    `<div class="card"><h1 class="${decision === 'approve' ? 'ok' : 'bad'}">You ${verb} this operation</h1>
<p class="sub">Recorded for ${esc(approver)}. You can close this page.</p>${status}${details(state)}</div>`,
  );
}

export function problemPage(title: string, detail: string): string {
  return layout(title, `<div class="card"><h1 class="bad">${esc(title)}</h1><p>${esc(detail)}</p></div>`);
}
