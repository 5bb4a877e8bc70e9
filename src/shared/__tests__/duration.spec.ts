import { formatCallDuration, formatJobDuration } from '../duration';

describe('formatJobDuration (Slurm style, the jobs panel)', () => {
  it('writes seconds, m:ss, h:mm:ss and days as Slurm does', () => {
    expect(formatJobDuration(null)).toBe('');
    expect(formatJobDuration(undefined)).toBe('');
    expect(formatJobDuration(Infinity)).toBe('');
    expect(formatJobDuration(0)).toBe('0s');
    expect(formatJobDuration(45)).toBe('45s');
    expect(formatJobDuration(59.6)).toBe('1:00');
    expect(formatJobDuration(605)).toBe('10:05');
    expect(formatJobDuration(3 * 3600 + 2 * 60 + 1)).toBe('3:02:01');
    expect(formatJobDuration(2 * 86400 + 3 * 3600)).toBe('2-03:00:00');
  });

  it('shows a negative time as none', () => {
    expect(formatJobDuration(-5)).toBe('0s');
  });
});

describe('formatCallDuration (a function call, the functions panel)', () => {
  it('writes milliseconds below a second', () => {
    expect(formatCallDuration(0.012)).toBe('12 ms');
    expect(formatCallDuration(0)).toBe('0 ms');
    expect(formatCallDuration(-0.5)).toBe('0 ms');
  });

  it('writes seconds with one decimal below ten, whole ones below a minute', () => {
    expect(formatCallDuration(3.44)).toBe('3.4 s');
    expect(formatCallDuration(42.4)).toBe('42 s');
  });

  it('writes m:ss and h:mm:ss from a minute on', () => {
    expect(formatCallDuration(125)).toBe('2:05');
    expect(formatCallDuration(3725)).toBe('1:02:05');
  });
});
