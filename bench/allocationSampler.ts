import { writeFileSync } from 'node:fs';
import { Session, type HeapProfiler } from 'node:inspector';

/**
 * Loaded into a server by the bench (`node --import`) to count what it allocates. Inert
 * until asked: a first SIGUSR2 starts V8's sampling heap profiler, counting what the
 * collections free too (every allocation, not only what is still alive); the next one
 * writes the bytes sampled since to ALLOCATION_OUT.
 */
let session: Session | null = null;
process.on('SIGUSR2', () => {
  if (session === null) {
    session = new Session();
    session.connect();
    // Both flags are in V8's protocol, not yet in Node's types.
    const parameters: HeapProfiler.StartSamplingParameterType & Record<string, unknown> =
      {
        samplingInterval: 1024,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      };
    session.post('HeapProfiler.enable');
    session.post('HeapProfiler.startSampling', parameters);
    return;
  }
  session.post('HeapProfiler.stopSampling', (error, result) => {
    const bytes = (node: HeapProfiler.SamplingHeapProfileNode): number =>
      node.children.reduce((sum, child) => sum + bytes(child), node.selfSize);
    writeFileSync(
      process.env.ALLOCATION_OUT!,
      error ? 'failed' : String(bytes(result.profile.head)),
    );
  });
});
