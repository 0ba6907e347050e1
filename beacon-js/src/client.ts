import { toBodies } from './lib/batch';
import { guarded } from './lib/guard';
import { createQueue } from './lib/queue';
import { getSessionId } from './lib/session';
import type { BatchContext, BeaconEvent, Client, Config, Send } from './types';
import { SDK } from './version';

/** Ties the queue to the transport: queued events leave as batches within the keepalive budget. */
export function createClient(config: Config, send: Send): Client {
  const context: BatchContext = {
    release: config.release,
    environment: config.environment,
    session_id: getSessionId(),
    sdk: SDK,
  };
  const queue = createQueue<BeaconEvent>((events) => {
    for (const body of toBodies(events, context)) send(body);
  });
  // `capture` is only called from guarded sources; `flush` is itself an entry point
  // (page lifecycle, `vigil.flush()`), so it gets its own guard.
  return { capture: queue.push, flush: guarded(queue.flush) };
}
