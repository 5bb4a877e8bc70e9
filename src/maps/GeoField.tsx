/**
 * The form's map field for geo parameters (a point, a line, a polygon, a box,
 * a Feature or a FeatureCollection): a map to click or draw on, and the same
 * value as text beside it for keyboard and screen-reader users. The map code
 * loads when the first such field shows.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import { nullTranslator } from '@jupyterlab/translation';
import type { FieldProps } from '@rjsf/utils';
import React, { useEffect, useRef, useState } from 'react';
import type { GeoKind, IGeoSpec } from './geo';
import { formatGeo, geoSpecOf, parseGeo } from './geo';
import type * as LeafletMap from './leafletmap';

/**
 * What a click draws, said to the user.
 */
function hintOf(geometry: GeoKind | null, trans: TranslationBundle): string {
  switch (geometry) {
    case 'Point':
      return trans.__('Click on the map to set the point.');
    case 'LineString':
      return trans.__(
        'Click on the map to add points; double-click or Finish to end the line.'
      );
    case 'Polygon':
      return trans.__(
        'Click on the map to add corners; click the first corner, double-click or Finish to close the polygon. Drag a corner to move it.'
      );
    case 'BBox':
      return trans.__(
        'Click two opposite corners of the box on the map. Drag a corner to move it.'
      );
    default:
      return '';
  }
}

/**
 * The map code, loaded once.
 */
export function loadMapModule(): Promise<typeof LeafletMap> {
  return (Private.module ??= import('./leafletmap'));
}

/**
 * The rjsf field of geo parameters.
 */
export function GeoField(props: FieldProps): JSX.Element {
  const { schema, idSchema, formData, onChange, disabled, readonly } = props;
  const spec: IGeoSpec = geoSpecOf(schema) ?? { kind: 'Polygon' };
  const id = idSchema.$id;
  const trans =
    (props.registry.formContext as { trans?: TranslationBundle } | undefined)
      ?.trans ?? nullTranslator.load('jupyter_rpc');
  const title =
    (props.uiSchema?.['ui:title'] as string | undefined) ??
    schema.title ??
    props.name;
  const mapNode = useRef<HTMLDivElement>(null);
  const editor = useRef<LeafletMap.GeoEditor | null>(null);
  // The value this field last gave the form (so its own changes do not
  // rewrite the text being typed).
  const sent = useRef<unknown>(formData);
  const [text, setText] = useState(() => formatGeo(formData));
  const [drawing, setDrawing] = useState({ drawing: false, count: 0 });
  const [loadError, setLoadError] = useState('');
  const [geometry, setGeometry] = useState<GeoKind | null>(null);

  const emit = (value: unknown): void => {
    sent.current = value;
    onChange(value as any);
  };

  useEffect(() => {
    let disposed = false;
    let handle: LeafletMap.IMapHandle | null = null;
    loadMapModule().then(
      mod => {
        if (disposed || !mapNode.current) {
          return;
        }
        // Leaflet's own node, which React does not render (so a re-render
        // does not reset the classes Leaflet gives it).
        const node = document.createElement('div');
        node.className = 'jp-rpc-GeoField-leaflet';
        mapNode.current.appendChild(node);
        handle = mod.createMap(node);
        const ed = new mod.GeoEditor({
          handle,
          spec,
          onChange: value => {
            setText(formatGeo(value));
            emit(value);
          },
          onState: setDrawing
        });
        editor.current = ed;
        setGeometry(ed.geometry);
        const current = sent.current;
        const examples = (schema as { examples?: unknown[] }).examples;
        const example = Array.isArray(examples) ? examples[0] : undefined;
        ed.setValue(typeof current === 'string' ? undefined : current);
        ed.setExample(example);
        const shown =
          current !== undefined && typeof current !== 'string'
            ? current
            : example;
        if (shown !== undefined) {
          handle.fit(shown);
        }
      },
      reason => setLoadError(String(reason))
    );
    return () => {
      disposed = true;
      editor.current?.dispose();
      editor.current = null;
      handle?.dispose();
    };
    // The map is made once per field.
  }, []);

  // A value from outside (a reset, a call restored from the history).
  useEffect(() => {
    if (Private.same(formData, sent.current)) {
      return;
    }
    sent.current = formData;
    setText(formatGeo(formData));
    editor.current?.setValue(
      typeof formData === 'string' ? undefined : formData
    );
  }, [formData]);

  const onText = (event: React.ChangeEvent<HTMLTextAreaElement>): void => {
    const value = event.target.value;
    setText(value);
    const parsed = parseGeo(value, spec);
    if (parsed.error !== undefined) {
      // The text goes to the form as it is: the form's check says what is
      // wrong with it, at this field, and refuses to send it.
      emit(value);
      try {
        const loose = JSON.parse(value);
        editor.current?.setValue(
          Array.isArray(loose) && spec.kind !== 'BBox'
            ? { type: spec.kind, coordinates: loose }
            : loose
        );
      } catch {
        // Keep the last drawing while the text does not read.
      }
      return;
    }
    emit(parsed.value);
    editor.current?.setValue(parsed.value);
  };

  const locked = disabled || readonly;
  const textId = `${id}`;
  const hintId = `${id}__hint`;
  const hint = hintOf(geometry, trans);
  const description = schema.description;
  return (
    <div className="jp-rpc-GeoField" data-geo={spec.kind}>
      {title && (
        <h3 className="jp-FormGroup-fieldLabel jp-FormGroup-contentItem">
          {title}
        </h3>
      )}
      {description && (
        <div className="jp-FormGroup-description">{description}</div>
      )}
      <div className="jp-rpc-GeoField-toolbar">
        <span id={hintId} className="jp-rpc-GeoField-hint">
          {loadError ? trans.__('The map could not load: %1', loadError) : hint}
        </span>
        {geometry && geometry !== 'Point' && geometry !== 'BBox' && !locked && (
          // Always there (disabled when they do nothing), so the map does
          // not move under the pointer when drawing starts.
          <>
            <button
              type="button"
              className="jp-mod-styled jp-mod-accept jp-rpc-GeoField-finish"
              disabled={
                !drawing.drawing ||
                drawing.count < (geometry === 'Polygon' ? 3 : 2)
              }
              onClick={() => editor.current?.finish()}
            >
              {trans.__('Finish')}
            </button>
            <button
              type="button"
              className="jp-mod-styled jp-rpc-GeoField-cancel"
              disabled={!drawing.drawing}
              onClick={() => editor.current?.cancel()}
            >
              {trans.__('Cancel')}
            </button>
          </>
        )}
        {!locked && (
          <button
            type="button"
            className="jp-mod-styled jp-rpc-GeoField-clear"
            onClick={() => {
              setText('');
              editor.current?.clear();
              emit(undefined);
            }}
          >
            {trans.__('Clear')}
          </button>
        )}
      </div>
      <div
        ref={mapNode}
        className={`jp-rpc-GeoField-map${drawing.drawing ? ' jp-mod-drawing' : ''}`}
        aria-label={trans.__('Map of %1: %2', title ?? '', hint)}
        aria-describedby={hintId}
      />
      <label className="jp-rpc-GeoField-textLabel" htmlFor={textId}>
        {spec.kind === 'BBox'
          ? trans.__('West, south, east, north (degrees)')
          : trans.__(
              'As GeoJSON text: positions are [longitude, latitude] in degrees'
            )}
      </label>
      <textarea
        id={textId}
        className="jp-mod-styled jp-rpc-GeoField-text"
        value={text}
        rows={spec.kind === 'Point' || spec.kind === 'BBox' ? 1 : 4}
        spellCheck={false}
        disabled={locked}
        placeholder={Private.placeholder(spec)}
        onChange={onText}
        aria-invalid={props.rawErrors?.length ? true : undefined}
      />
    </div>
  );
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  export let module: Promise<typeof LeafletMap> | undefined;

  export function same(a: unknown, b: unknown): boolean {
    return a === b || JSON.stringify(a) === JSON.stringify(b);
  }

  export function placeholder(spec: IGeoSpec): string {
    switch (spec.kind) {
      case 'Point':
        return '[13.06, 52.38]';
      case 'BBox':
        return '5, 47, 15, 55';
      case 'Polygon':
        return '[[[10, 50], [12, 50], [12, 52], [10, 50]]]';
      default:
        return `A GeoJSON ${spec.kind}`;
    }
  }
}
