/**
 * Waits for `p` at most `ms` milliseconds. Shutdown paths use it so that an
 * unreachable collector cannot keep critap from exiting; rejections count as
 * settled because exporters report (and critap counts) their own failures.
 */
export async function settleWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = p.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
