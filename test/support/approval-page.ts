// The gateway's email-approval page driven like a browser: GET shows it (and sets the CSRF cookie), POST decides.

export interface ApprovalPage {
  status: number;
  html: string;
  /** `atom_gov_csrf=...` from Set-Cookie, when the page set one. */
  cookie?: string;
  /** The form's hidden CSRF token, when the page has the form. */
  csrf?: string;
}

/** GET the page like a browser: the CSRF cookie and the form's hidden token. */
export async function openApprovalPage(link: string): Promise<ApprovalPage> {
  const res = await fetch(link);
  const html = await res.text();
  const cookie = res.headers.get('set-cookie')?.split(';')[0];
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  return { status: res.status, html, ...(cookie ? { cookie } : {}), ...(csrf ? { csrf } : {}) };
}

/** POST the page's form (decision, csrf, reason) with the cookie, as the browser would. */
export async function postApprovalForm(
  link: string,
  form: Record<string, string>,
  cookie?: string,
): Promise<{ status: number; html: string }> {
  const res = await fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, html: await res.text() };
}
