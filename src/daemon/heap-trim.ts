import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * dom0d's heap kept at its working size. A daemon that creates and destroys domains in a tight
 * loop never looks idle to V8's memory reducer, so the heap (and the process's RSS) ratchets up
 * by tens of MiB although what is live stays around 8 MiB. Every `intervalMs`, when the heap has
 * grown by `slackBytes` since the last collection, a full collection is run (a few ms for a heap
 * this size); an idle dom0d pays one heap-statistics read per interval. Paired with the
 * `--max-semi-space-size` node flag dom0d is started with (DOM0D_NODE_FLAGS in src/api/client.ts), which caps the
 * young generation that a full collection does not shrink.
 */
export function startHeapTrim(intervalMs = 2000, slackBytes = 2 * 1024 * 1024): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let floor = getHeapStatistics().used_heap_size;
  const timer = setInterval(() => {
    if (getHeapStatistics().used_heap_size - floor < slackBytes) return;
    gc();
    floor = getHeapStatistics().used_heap_size;
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
