/**
 * Polls until done(value) holds or the deadline passes, and returns the last value:
 * tests wait for what they expect with a generous deadline, never for a fixed time.
 */
export async function until<T> (probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (done(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
