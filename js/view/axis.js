// Time-axis math for the timeline column (pure).

const STEPS = [1, 2, 5];

/** A "nice" tick step (microseconds) so that about `target` ticks span `total` us. */
export function tickStep(total, target = 5) {
  if (!(total > 0)) return 1;
  const raw = total / Math.max(1, target);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const s of STEPS) if (s * mag >= raw) return s * mag;
  return 10 * mag;
}

/** Tick positions over [0, total] us: [{us, pct}] with pct in 0..100. */
export function ticks(total, target = 5) {
  const step = tickStep(total, target);
  const out = [];
  if (!(total > 0)) return [{ us: 0, pct: 0 }];
  for (let us = 0; us <= total + step * 1e-9 && out.length < 50; us += step) {
    out.push({ us, pct: Math.min(100, (us / total) * 100) });
  }
  return out;
}

/** left/width percentages of a bar starting at `start` us lasting `dur` us on a `total` axis. */
export function barGeometry(start, dur, total) {
  const t = total > 0 ? total : 1;
  const left = Math.min(100, Math.max(0, (start / t) * 100));
  const width = Math.max(0.3, Math.min(100 - left, (Math.max(0, dur) / t) * 100));
  return { left, width };
}
