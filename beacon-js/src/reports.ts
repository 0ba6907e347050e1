import { newEvent } from './lib/event';
import { guarded } from './lib/guard';
import { position } from './lib/position';
import { redactText, redactUrl } from './lib/redact';
import type { Client } from './types';

/**
 * Captures the browser's deprecation and intervention reports (ReportingObserver), those
 * issued before the beacon started included, where the browser supports it (Chromium).
 */
export function watchReports(client: Client): void {
  new ReportingObserver(
    guarded((reports: Report[]) => {
      for (const { type, body } of reports) {
        // A deprecation's or intervention's body (lib.dom has no type for them).
        const b: any = body || {};
        client.capture(
          newEvent('report', {
            report_type: type as string,
            report_id: b.id,
            message: redactText(b.message || ''),
            source_file: redactUrl(b.sourceFile || ''),
            line: position(b.lineNumber),
            column: position(b.columnNumber),
          }),
        );
      }
    }),
    { types: ['deprecation', 'intervention'], buffered: true },
  ).observe();
}
