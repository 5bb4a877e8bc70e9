/**
 * The placement ranking in the submit dialog: its rows as shown, the table,
 * and the request it sends.
 */
import { nullTranslator } from '@jupyterlab/translation';
import React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import {
  type IPlacement,
  type IPlacementRanking,
  placementRows,
  PlacementView
} from '../placement';

const trans = nullTranslator.load('jupyter_rpc');
const NOW = 1_800_000_000;

function entry(fields: Partial<IPlacement>): IPlacement {
  return {
    cluster: 'levante',
    display_name: 'Levante',
    partition: 'compute',
    status: 'ok',
    reason: 'Slurm says it would start now.',
    code: null,
    expected_start: NOW,
    wait_seconds: 0,
    estimate: 'test_only',
    jobs_ahead: null,
    core_hours: 2,
    cost: null,
    cost_unit: null,
    energy_factor: null,
    score: 0,
    rank: 1,
    submit: { cluster: 'levante', partition: 'compute' },
    ...fields
  };
}

const RANKING: IPlacementRanking = {
  prefer: 'balanced',
  timeout: 5,
  elapsed: 0.4,
  placements: [
    entry({ cost: 0.24, cost_unit: 'EUR' }),
    entry({
      cluster: 'local',
      display_name: 'This computer',
      partition: 'local',
      rank: 2,
      expected_start: NOW + 7200,
      wait_seconds: 7200,
      reason: 'The local scheduler says it would start in 2.0 h.'
    }),
    entry({
      cluster: 'queue',
      display_name: 'queue',
      partition: 'batch',
      rank: 3,
      expected_start: null,
      wait_seconds: null,
      estimate: 'queue',
      jobs_ahead: 4,
      reason: '4 jobs waiting ahead in this queue.'
    }),
    entry({
      partition: 'debug',
      status: 'refused',
      rank: null,
      code: 'job.invalid',
      expected_start: null,
      wait_seconds: null,
      reason: 'Partition debug allows at most 60 minutes; asked for 120.'
    }),
    entry({
      cluster: 'down',
      display_name: 'down',
      partition: null,
      status: 'timeout',
      rank: null,
      expected_start: null,
      wait_seconds: null,
      reason: "Cluster 'down' did not answer within 5 s."
    })
  ]
};

describe('placementRows', () => {
  const rows = placementRows(RANKING, NOW, trans);

  it('keeps the server order and ranks only those that can take the job', () => {
    expect(rows.map(r => [r.rank, r.where, r.partition, r.ok])).toEqual([
      ['1', 'Levante', 'compute', true],
      ['2', 'This computer', 'local', true],
      ['3', 'queue', 'batch', true],
      ['', 'Levante', 'debug', false],
      ['', 'down', '', false]
    ]);
  });

  it('says when each would start, or why it cannot', () => {
    expect(rows[0].start).toBe('now');
    expect(rows[1].start).toContain('in 2 h');
    expect(rows[2].start).toBe('after 4 queued');
    expect(rows[3].start).toBe('does not fit');
    expect(rows[4].start).toBe('no answer');
  });

  it('shows the cost with its unit, nothing without a price', () => {
    expect(rows.map(r => r.cost)).toEqual(['0.24 EUR', '', '', '', '']);
  });
});

describe('PlacementView', () => {
  const html = renderToStaticMarkup(
    React.createElement(PlacementView, {
      ranking: RANKING,
      now: NOW,
      trans,
      onPick: () => undefined
    })
  );

  it('lists every entry with its reason, none hidden', () => {
    for (const p of RANKING.placements) {
      expect(html).toContain(p.reason.replace(/'/g, '&#x27;'));
    }
    expect(html.match(/<tr /g)?.length).toBe(5);
  });

  it('offers Use only on the rows that can take the job', () => {
    expect(html.match(/jp-rpc-Placement-use/g)?.length).toBe(3);
    expect(html).toContain('data-cluster="levante" data-partition="debug"');
  });

  it('says so when there is nothing to rank', () => {
    const empty = renderToStaticMarkup(
      React.createElement(PlacementView, {
        ranking: { ...RANKING, placements: [] },
        now: NOW,
        trans,
        onPick: () => undefined
      })
    );
    expect(empty).toContain('No cluster to ask.');
  });
});
