/** RFC 6749 §5.2 error answers of the token endpoint: `{error, error_description}`, Spanish first, English after. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'invalid_scope' | 'unsupported_grant_type' | 'unauthorized_client';

export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly reason: { es: string; en: string };
  constructor(code: OAuthErrorCode, reason: { es: string; en: string }) {
    super(reason.en);
    this.code = code;
    this.reason = reason;
  }

  /** invalid_client is 401 (the client failed to authenticate); the rest are 400. */
  get status(): number {
    return this.code === 'invalid_client' ? 401 : 400;
  }

  get body(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: `${this.reason.es} / ${this.reason.en}` };
  }
}
