import { newEvent } from './lib/event';
import { guarded } from './lib/guard';
import { redactText, redactUrl } from './lib/redact';
import type { Client } from './types';

/**
 * Captures Content Security Policy violations the page sees (`securitypolicyviolation`),
 * a blocked request to the collector too: it is delivered if another collector is allowed,
 * and flood control (lib/flood.ts) keeps its repeats to one.
 */
export function watchCsp(client: Client): void {
  document.addEventListener(
    'securitypolicyviolation',
    guarded((e: SecurityPolicyViolationEvent) => {
      client.capture(
          newEvent('csp', {
            blocked_uri: redactUrl(e.blockedURI),
            effective_directive: e.effectiveDirective,
            violated_directive: e.violatedDirective,
            original_policy: e.originalPolicy,
            disposition: e.disposition,
            source_file: redactUrl(e.sourceFile),
            line: e.lineNumber,
            column: e.columnNumber,
            sample: redactText(e.sample),
            status_code: e.statusCode,
          }),
        );
    }),
  );
}
