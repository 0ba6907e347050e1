import { newEvent } from './lib/event';
import { guarded } from './lib/guard';
import { position } from './lib/position';
import { redactText, redactUrl } from './lib/redact';
import type { Client } from './types';

/**
 * Captures Content Security Policy violations the page sees (`securitypolicyviolation`),
 * a blocked request to the collector too: it is delivered if another collector is allowed,
 * and flood control (lib/flood.ts) keeps its repeats to one. The event's `violatedDirective`
 * is not sent: CSP 3 makes it a copy of `effectiveDirective`. `statusCode` is an HTTP status,
 * which Fetch bounds to 0…999 as the protocol does.
 */
export function watchCsp(client: Client): void {
  // The event bubbles from the element or document to window.
  addEventListener(
    'securitypolicyviolation',
    guarded((e: SecurityPolicyViolationEvent) => {
      client.capture(
          newEvent('csp', {
            blocked_uri: redactUrl(e.blockedURI),
            effective_directive: e.effectiveDirective,
            original_policy: e.originalPolicy,
            disposition: e.disposition,
            source_file: redactUrl(e.sourceFile),
            line: position(e.lineNumber),
            column: position(e.columnNumber),
            sample: redactText(e.sample),
            status_code: e.statusCode,
          }),
        );
    }),
  );
}
