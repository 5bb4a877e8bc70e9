import { useEffect, useRef, useState } from 'react';
import type { OutputStream } from './api';
import type { JobsManager } from './manager';

/**
 * The most text a tail keeps (older text is dropped).
 */
export const MAX_TAIL_CHARS = 200000;

/**
 * How often a running job's output is read (ms).
 */
export const TAIL_INTERVAL = 2000;

/**
 * A job's output as far as read.
 */
export interface ITail {
  text: string;
  /** Whether older text was dropped. */
  truncated: boolean;
  /** Whether the file exists (yet). */
  exists: boolean;
  path: string;
  error: string;
}

const EMPTY: ITail = {
  text: '',
  truncated: false,
  exists: true,
  path: '',
  error: ''
};

/**
 * Append read text to a tail, keeping at most `max` characters.
 */
export function appendTail(
  tail: ITail,
  data: string,
  max = MAX_TAIL_CHARS
): ITail {
  let text = tail.text + data;
  let truncated = tail.truncated;
  if (text.length > max) {
    text = text.slice(text.length - max);
    truncated = true;
  }
  return { ...tail, text, truncated };
}

/**
 * Follow a job's stdout or stderr: read from `next_offset` every 2 s while
 * the job is active and the view is visible; once more when it ends.
 */
export function useOutputTail(
  manager: JobsManager | null,
  jobId: string,
  stream: OutputStream,
  active: boolean,
  visible: boolean
): ITail {
  const [tail, setTail] = useState<ITail>(EMPTY);
  const offset = useRef(0);
  const key = `${manager?.cluster}/${jobId}/${stream}`;
  const keyRef = useRef(key);

  // A new job or stream: start over.
  useEffect(() => {
    keyRef.current = key;
    offset.current = 0;
    setTail(EMPTY);
  }, [key]);

  useEffect(() => {
    if (!manager || !jobId || !visible) {
      return;
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const myKey = key;
    const step = async (): Promise<void> => {
      try {
        // Read everything there is (a chunk at a time), then wait.
        for (let i = 0; i < 20 && !stopped; i++) {
          const chunk = await manager.readOutput(jobId, {
            stream,
            offset: offset.current
          });
          if (stopped || keyRef.current !== myKey) {
            return;
          }
          const gotData = chunk.next_offset > offset.current;
          offset.current = chunk.next_offset;
          setTail(t => ({
            ...appendTail(t, chunk.data),
            exists: chunk.exists,
            path: chunk.path,
            error: ''
          }));
          if (!gotData || chunk.next_offset >= chunk.size) {
            break;
          }
        }
      } catch (reason) {
        if (!stopped) {
          const message =
            reason instanceof Error ? reason.message : String(reason);
          setTail(t => ({ ...t, error: message }));
        }
      }
      if (!stopped && active) {
        timer = setTimeout(() => void step(), TAIL_INTERVAL);
      }
    };
    void step();
    return () => {
      stopped = true;
      if (timer !== null) {
        clearTimeout(timer);
      }
    };
  }, [key, active, visible]);

  return tail;
}
