/**
 * Everything a Kafka client opened and has not closed yet, so that the client's close() releases it
 * all (tests, shutdown). Each handle is made with a callback that forgets it once it closes itself.
 */
export function openHandles(): {
  track<T extends { close(): Promise<void> }>(make: (untrack: () => void) => T): T;
  closeAll(): Promise<void>;
} {
  const open = new Set<{ close(): Promise<void> }>();
  return {
    track(make) {
      const handle = make(() => {
        if (handle) open.delete(handle);
      });
      open.add(handle);
      return handle;
    },
    async closeAll() {
      await Promise.allSettled([...open].map((h) => h.close()));
    },
  };
}
