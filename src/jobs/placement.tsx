/**
 * "Where should it run?": the placement ranking of `POST /placement`
 * (docs/placement.md) as a table in the submit dialog, each row that can take
 * the job with a button that fills the form with its cluster and partition.
 */
import type { ServerConnection } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import React, { useEffect, useRef } from 'react';
import type { Answer, BodyOf } from '../shared/contract';
import type * as wire from '../shared/openapi';
import { postBody, requestAPI } from '../shared/request';
import type { IJobSpec } from './api';
import { formatRelative, formatTime } from './format';

export type IPlacement = wire.IPlacement;
export type IPlacementRanking = wire.IPlacementRanking;

/**
 * `POST /placement`: rank the clusters for this job. The partition is left
 * out, so that every partition is compared.
 */
export function placeJob(
  spec: IJobSpec,
  timeout = 5,
  settings?: ServerConnection.ISettings
): Promise<IPlacementRanking> {
  const rest = { ...spec };
  delete rest.partition;
  const script = rest.script_path ? undefined : rest.script || '#!/bin/bash\n';
  const body: BodyOf<'placeJob'> = {
    spec: script === undefined ? rest : { ...rest, script },
    timeout
  };
  return requestAPI<Answer<'placeJob'>>(
    ['placement'],
    postBody(body),
    {},
    settings
  );
}

/**
 * One row of the ranking as shown.
 */
export interface IPlacementRow {
  key: string;
  ok: boolean;
  rank: string;
  where: string;
  partition: string;
  start: string;
  cost: string;
  reason: string;
  placement: IPlacement;
}

/**
 * The rows of a ranking, in the server's order (best first); `now` in
 * seconds.
 */
export function placementRows(
  ranking: IPlacementRanking,
  now: number,
  trans: TranslationBundle
): IPlacementRow[] {
  return ranking.placements.map(p => {
    const ok = p.status === 'ok';
    let start = '';
    if (ok && p.expected_start !== null) {
      start =
        (p.wait_seconds ?? 0) < 60
          ? trans.__('now')
          : `${formatTime(p.expected_start)} (${formatRelative(p.expected_start, now)})`;
    } else if (ok && p.jobs_ahead) {
      start = trans.__('after %1 queued', p.jobs_ahead);
    } else if (!ok) {
      start = statusText(p.status, trans);
    }
    const cost =
      p.cost === null ? '' : `${p.cost}${p.cost_unit ? ` ${p.cost_unit}` : ''}`;
    return {
      key: `${p.cluster}/${p.partition ?? ''}`,
      ok,
      rank: p.rank === null ? '' : String(p.rank),
      where: p.display_name || p.cluster,
      partition: p.partition ?? '',
      start,
      cost,
      reason: p.reason,
      placement: p
    };
  });
}

function statusText(status: IPlacement['status'], trans: TranslationBundle) {
  switch (status) {
    case 'refused':
      return trans.__('does not fit');
    case 'forbidden':
      return trans.__('not allowed');
    case 'unreachable':
      return trans.__('unreachable');
    case 'timeout':
      return trans.__('no answer');
    case 'no_scheduler':
      return trans.__('no scheduler');
    default:
      return trans.__('error');
  }
}

/**
 * The ranking as a table; `onPick` fills the form from a row.
 */
export function PlacementView(props: {
  ranking: IPlacementRanking;
  now: number;
  trans: TranslationBundle;
  onPick: (placement: IPlacement) => void;
}): JSX.Element {
  const { trans } = props;
  const rows = placementRows(props.ranking, props.now, trans);
  const table = useRef<HTMLTableElement>(null);
  useEffect(() => {
    // the form is long: show the answer where the button was pressed
    table.current?.scrollIntoView?.({ block: 'nearest' });
  }, [props.ranking]);
  if (rows.length === 0) {
    return <div className="jp-rpc-muted">{trans.__('No cluster to ask.')}</div>;
  }
  return (
    <table className="jp-rpc-Placement" ref={table}>
      <thead>
        <tr>
          <th>#</th>
          <th>{trans.__('Cluster')}</th>
          <th>{trans.__('Partition')}</th>
          <th>{trans.__('Expected start')}</th>
          <th>{trans.__('Cost')}</th>
          <th>{trans.__('Why')}</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {rows.map(row => (
          <tr
            key={row.key}
            data-cluster={row.placement.cluster}
            data-partition={row.partition}
            className={row.ok ? 'jp-rpc-Placement-ok' : 'jp-rpc-Placement-no'}
          >
            <td>{row.rank}</td>
            <td>{row.where}</td>
            <td>{row.partition}</td>
            <td>{row.start}</td>
            <td>{row.cost}</td>
            <td className="jp-rpc-Placement-reason">{row.reason}</td>
            <td>
              {row.ok && (
                <button
                  type="button"
                  className="jp-mod-styled jp-rpc-Placement-use"
                  onClick={() => props.onPick(row.placement)}
                >
                  {trans.__('Use')}
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
