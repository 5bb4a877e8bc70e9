/**
 * React hooks the panels of every feature use: re-render on Lumino signals,
 * and a clock for running times.
 */
import type { ISignal } from '@lumino/signaling';
import { useEffect, useState } from 'react';

/**
 * Re-render the calling component whenever one of the signals fires.
 */
export function useSignals(
  ...signals: ReadonlyArray<ISignal<unknown, unknown> | null | undefined>
): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    const slot = (): void => setTick(t => t + 1);
    for (const s of signals) {
      s?.connect(slot);
    }
    return () => {
      for (const s of signals) {
        s?.disconnect(slot);
      }
    };
  }, signals);
}

/**
 * A timestamp that advances every `interval` ms while `active`.
 */
export function useNow(active: boolean, interval = 250): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) {
      return;
    }
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), interval);
    return () => clearInterval(timer);
  }, [active, interval]);
  return now;
}
