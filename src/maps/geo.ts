/**
 * Geo parameters: which JSON Schemas are places (GeoJSON or a bounding box),
 * reading the text a person types for one, and the checks made before a call
 * is sent. Pure functions, no DOM and no map library.
 */
import type { JSONSchema7, JSONSchema7Definition } from 'json-schema';

/**
 * The media type of GeoJSON (RFC 7946).
 */
export const GEOJSON_MIME = 'application/geo+json';

/**
 * The media type of the raster results the server sends.
 */
export const RASTER_MIME = 'application/vnd.jupyter-rpc.raster+json';

/**
 * What a geo parameter holds: a GeoJSON geometry type, a Feature, a
 * FeatureCollection, or a bounding box `[west, south, east, north]`.
 */
export type GeoKind =
  | 'Point'
  | 'MultiPoint'
  | 'LineString'
  | 'MultiLineString'
  | 'Polygon'
  | 'MultiPolygon'
  | 'Feature'
  | 'FeatureCollection'
  | 'BBox';

/**
 * A geo parameter: what it holds and, for a Feature or FeatureCollection, the
 * geometry type of its features when known.
 */
export interface IGeoSpec {
  kind: GeoKind;
  geometry?: GeoKind;
}

const GEOMETRY_TYPES: ReadonlyArray<string> = [
  'Point',
  'MultiPoint',
  'LineString',
  'MultiLineString',
  'Polygon',
  'MultiPolygon'
];

const KINDS: ReadonlyArray<string> = [
  ...GEOMETRY_TYPES,
  'Feature',
  'FeatureCollection',
  'BBox'
];

/**
 * A geo value: a GeoJSON object or a bounding box.
 */
export type GeoValue =
  { type: string; [key: string]: unknown } | [number, number, number, number];

/**
 * The geo parameter a schema describes, or `null`: `x-geo` (what the backend
 * adds), else the shape of an unannotated GeoJSON model (a `type` property
 * whose const/enum is a GeoJSON type, with `coordinates`, `geometry` or
 * `features` beside it).
 */
export function geoSpecOf(
  schema: JSONSchema7Definition | undefined
): IGeoSpec | null {
  if (!schema || typeof schema !== 'object') {
    return null;
  }
  const s = schema as JSONSchema7 & Record<string, unknown>;
  const annotated = s['x-geo'];
  if (typeof annotated === 'string' && KINDS.includes(annotated)) {
    const geometry = s['x-geo-geometry'];
    return typeof geometry === 'string' && GEOMETRY_TYPES.includes(geometry)
      ? { kind: annotated as GeoKind, geometry: geometry as GeoKind }
      : { kind: annotated as GeoKind };
  }
  const props = s.properties;
  if (!props || typeof props.type !== 'object') {
    return null;
  }
  const typeSchema = props.type;
  const names: unknown[] =
    typeSchema.const !== undefined
      ? [typeSchema.const]
      : Array.isArray(typeSchema.enum)
        ? typeSchema.enum
        : [];
  if (names.length !== 1 || typeof names[0] !== 'string') {
    return null;
  }
  const name = names[0];
  if (GEOMETRY_TYPES.includes(name) && props.coordinates) {
    return { kind: name as GeoKind };
  }
  if (name === 'Feature' && props.geometry) {
    const geometry = Private.geometryOf(props.geometry);
    return geometry ? { kind: 'Feature', geometry } : { kind: 'Feature' };
  }
  if (name === 'FeatureCollection' && props.features) {
    return { kind: 'FeatureCollection' };
  }
  return null;
}

/**
 * Whether a schema is a geo parameter.
 */
export function isGeoSchema(
  schema: JSONSchema7Definition | undefined
): boolean {
  return geoSpecOf(schema) !== null;
}

/**
 * Whether a value holds no place yet: nothing, or only what a form fills in
 * from the schema's constants (`{"type": "Polygon"}` without coordinates, a
 * Feature without a geometry, a collection without features).
 */
export function isEmptyGeo(value: unknown): boolean {
  if (value === undefined || value === null || value === '') {
    return true;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    return false;
  }
  const obj = value as Record<string, unknown>;
  if (obj.type === 'Feature') {
    return !obj.geometry;
  }
  if (obj.type === 'FeatureCollection') {
    return !Array.isArray(obj.features) || obj.features.length === 0;
  }
  return obj.coordinates === undefined;
}

/**
 * A value as the text of the field: GeoJSON, one position per line inside a
 * ring, so it reads and edits well.
 */
export function formatGeo(value: unknown): string {
  if (isEmptyGeo(value)) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (Array.isArray(value) && value.length === 4 && value.every(isNumber)) {
    return value.map(v => Private.round(v)).join(', '); // a box: w, s, e, n
  }
  const json = JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'number' ? Private.round(v) : v
  );
  // Positions on their own lines: `[lon, lat]` pairs after `[[`.
  return json
    .replace(/\[(-?[\d.e+-]+),(-?[\d.e+-]+)\]/g, '[$1, $2]')
    .replace(/\],\[/g, '],\n  [');
}

/**
 * The result of reading a field's text.
 */
export type ParseResult =
  | { value: GeoValue | undefined; error?: undefined }
  | { value?: undefined; error: string };

/**
 * Read the text of a geo field: GeoJSON, or for a geometry just its
 * coordinates (`[lon, lat]` for a point), or for a box `west, south, east,
 * north`. Empty text is no value. The value is then checked with
 * {@link validateGeo}.
 */
export function parseGeo(text: string, spec: IGeoSpec): ParseResult {
  const trimmed = text.trim();
  if (!trimmed) {
    return { value: undefined };
  }
  let data: unknown;
  try {
    data = JSON.parse(
      spec.kind === 'BBox' && !trimmed.startsWith('[')
        ? `[${trimmed}]`
        : trimmed
    );
  } catch (reason) {
    return {
      error:
        spec.kind === 'BBox'
          ? 'Type four numbers: west, south, east, north (in degrees).'
          : `This is not GeoJSON: ${reason instanceof Error ? reason.message : String(reason)}.`
    };
  }
  if (Array.isArray(data) && GEOMETRY_TYPES.includes(spec.kind)) {
    data = { type: spec.kind, coordinates: data };
  }
  const error = validateGeo(data, spec);
  return error ? { error } : { value: data as GeoValue };
}

/**
 * What is wrong with a value for a geo parameter, in words for people, or
 * `null` when it is fine: the type the function expects, numbers, longitude
 * in [-180, 180] and latitude in [-90, 90], rings of at least four positions
 * whose last repeats the first, a box's south not above its north.
 */
export function validateGeo(value: unknown, spec: IGeoSpec): string | null {
  if (typeof value === 'string') {
    const parsed = parseGeo(value, spec);
    return parsed.error ?? null;
  }
  if (spec.kind === 'BBox') {
    return Private.checkBBox(value);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return `Expected a GeoJSON ${spec.kind}.`;
  }
  const obj = value as Record<string, unknown>;
  if (obj.type !== spec.kind) {
    return typeof obj.type === 'string'
      ? `Expected a ${spec.kind}, not a ${obj.type}.`
      : `Expected a GeoJSON ${spec.kind} (its "type" is missing).`;
  }
  if (spec.kind === 'Feature') {
    return Private.checkFeature(obj, spec.geometry, '');
  }
  if (spec.kind === 'FeatureCollection') {
    if (!Array.isArray(obj.features)) {
      return 'A FeatureCollection needs a list of "features".';
    }
    for (let i = 0; i < obj.features.length; i++) {
      const error = Private.checkFeature(
        obj.features[i],
        spec.geometry,
        `Feature ${i + 1}: `
      );
      if (error) {
        return error;
      }
    }
    return null;
  }
  return Private.checkGeometry(obj, spec.kind);
}

/**
 * The positions of a geo value as `[lon, lat]` pairs, for a box its two
 * corners; used to fit a map to it.
 */
export function positionsOf(value: unknown): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      if (
        node.length >= 2 &&
        typeof node[0] === 'number' &&
        typeof node[1] === 'number'
      ) {
        out.push([node[0], node[1]]);
        return;
      }
      node.forEach(walk);
    } else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      walk(obj.coordinates);
      walk(obj.geometry);
      walk(obj.features);
      walk(obj.geometries);
    }
  };
  if (Array.isArray(value) && value.length === 4 && value.every(isNumber)) {
    return [
      [value[0] as number, value[1] as number],
      [value[2] as number, value[3] as number]
    ];
  }
  walk(value);
  return out;
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  export function round(v: number): number {
    return Math.round(v * 1e6) / 1e6;
  }

  export function geometryOf(
    schema: JSONSchema7Definition
  ): GeoKind | undefined {
    if (typeof schema !== 'object') {
      return undefined;
    }
    const direct = geoSpecOf(schema);
    if (direct && GEOMETRY_TYPES.includes(direct.kind)) {
      return direct.kind;
    }
    const members = (schema.anyOf ?? schema.oneOf ?? []).filter(
      m => typeof m === 'object' && m.type !== 'null'
    );
    if (members.length === 1) {
      return geometryOf(members[0]);
    }
    return undefined;
  }

  export function checkBBox(value: unknown): string | null {
    if (!Array.isArray(value) || value.length !== 4) {
      return 'A box is four numbers: west, south, east, north (in degrees).';
    }
    if (!value.every(isNumber)) {
      return 'Every edge of the box must be a number.';
    }
    const [west, south, east, north] = value as number[];
    const error =
      checkLon(west, 'West') ??
      checkLat(south, 'South') ??
      checkLon(east, 'East') ??
      checkLat(north, 'North');
    if (error) {
      return error;
    }
    if (south > north) {
      return `South (${south}) is north of north (${north}).`;
    }
    return null;
  }

  export function checkFeature(
    feature: unknown,
    geometry: GeoKind | undefined,
    where: string
  ): string | null {
    if (!feature || typeof feature !== 'object' || Array.isArray(feature)) {
      return `${where}expected a GeoJSON Feature.`;
    }
    const f = feature as Record<string, unknown>;
    if (f.type !== 'Feature') {
      return `${where}expected a Feature, not ${typeof f.type === 'string' ? `a ${f.type}` : 'this'}.`;
    }
    const g = f.geometry;
    if (g === null) {
      return null;
    }
    if (!g || typeof g !== 'object' || Array.isArray(g)) {
      return `${where}its "geometry" must be a GeoJSON geometry.`;
    }
    const type = (g as Record<string, unknown>).type;
    if (geometry && type !== geometry) {
      return `${where}expected a ${geometry}, not a ${String(type)}.`;
    }
    if (typeof type !== 'string' || !GEOMETRY_TYPES.includes(type)) {
      return `${where}"${String(type)}" is not a GeoJSON geometry type.`;
    }
    const error = checkGeometry(g as Record<string, unknown>, type as GeoKind);
    return error ? `${where}${error}` : null;
  }

  export function checkGeometry(
    g: Record<string, unknown>,
    kind: GeoKind
  ): string | null {
    const c = g.coordinates;
    switch (kind) {
      case 'Point':
        return checkPosition(c, '');
      case 'MultiPoint':
        return checkList(c, 'points', 1, (p, i) =>
          checkPosition(p, `point ${i + 1}`)
        );
      case 'LineString':
        return checkLine(c, '');
      case 'MultiLineString':
        return checkList(c, 'lines', 1, (l, i) =>
          checkLine(l, `line ${i + 1}`)
        );
      case 'Polygon':
        return checkPolygon(c, '');
      case 'MultiPolygon':
        return checkList(c, 'polygons', 1, (p, i) =>
          checkPolygon(p, `polygon ${i + 1}`)
        );
      default:
        return null;
    }
  }

  function checkList(
    c: unknown,
    what: string,
    min: number,
    each: (item: unknown, i: number) => string | null
  ): string | null {
    if (!Array.isArray(c)) {
      return `The coordinates must be a list of ${what}.`;
    }
    if (c.length < min) {
      return `Give at least ${min} of the ${what}.`;
    }
    for (let i = 0; i < c.length; i++) {
      const error = each(c[i], i);
      if (error) {
        return error;
      }
    }
    return null;
  }

  function at(where: string): string {
    return where ? ` (${where})` : '';
  }

  function checkPosition(p: unknown, where: string): string | null {
    if (
      !Array.isArray(p) ||
      p.length < 2 ||
      p.length > 3 ||
      !p.every(isNumber)
    ) {
      return `A position is [longitude, latitude] in degrees${at(where)}.`;
    }
    return (
      checkLon(p[0] as number, 'Longitude', where) ??
      checkLat(p[1] as number, 'Latitude', where)
    );
  }

  function checkLine(c: unknown, where: string): string | null {
    if (!Array.isArray(c) || c.length < 2) {
      return `A line needs at least 2 positions${at(where)}.`;
    }
    return checkPositions(c, where);
  }

  function checkPositions(c: unknown[], where: string): string | null {
    for (let i = 0; i < c.length; i++) {
      const error = checkPosition(
        c[i],
        where ? `${where}, point ${i + 1}` : `point ${i + 1}`
      );
      if (error) {
        return error;
      }
    }
    return null;
  }

  function checkPolygon(c: unknown, where: string): string | null {
    if (!Array.isArray(c) || c.length < 1) {
      return `A polygon is a list of rings, its outline first${at(where)}.`;
    }
    for (let r = 0; r < c.length; r++) {
      const ring = c[r];
      const name =
        c.length === 1 ? 'the ring' : r === 0 ? 'the outline' : `hole ${r}`;
      const place = where ? `${where}, ${name}` : name;
      if (!Array.isArray(ring) || ring.some(p => !Array.isArray(p))) {
        return `A ring is a list of [longitude, latitude] positions (${place}).`;
      }
      const error = checkPositions(ring, place);
      if (error) {
        return error;
      }
      if (ring.length < 4) {
        return `A ring needs at least 4 positions: 3 corners and the first again (${place} has ${ring.length}).`;
      }
      const first = ring[0] as number[];
      const last = ring[ring.length - 1] as number[];
      if (first[0] !== last[0] || first[1] !== last[1]) {
        return `The ring is not closed: its last position must repeat the first, [${first[0]}, ${first[1]}] (${place}).`;
      }
    }
    return null;
  }

  export function checkLon(
    v: number,
    label: string,
    where = ''
  ): string | null {
    return v < -180 || v > 180
      ? `${label} ${v} is out of range: longitude is between -180 and 180${at(where)}.`
      : null;
  }

  export function checkLat(
    v: number,
    label: string,
    where = ''
  ): string | null {
    return v < -90 || v > 90
      ? `${label} ${v} is out of range: latitude is between -90 and 90${at(where)}.`
      : null;
  }
}

/**
 * A problem with one geo argument of a form.
 */
export interface IGeoError {
  /** Where the value sits in the form data (property names). */
  path: string[];
  message: string;
}

/**
 * The geo arguments in a (prepared) form schema: their paths and specs,
 * looking into nested objects.
 */
export function geoFields(
  schema: JSONSchema7,
  path: string[] = []
): Array<{ path: string[]; spec: IGeoSpec; required: boolean }> {
  const out: Array<{ path: string[]; spec: IGeoSpec; required: boolean }> = [];
  const required = new Set(schema.required ?? []);
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    if (typeof prop !== 'object') {
      continue;
    }
    const spec = geoSpecOf(prop);
    if (spec) {
      out.push({ path: [...path, name], spec, required: required.has(name) });
    } else if (prop.properties) {
      out.push(...geoFields(prop, [...path, name]));
    }
  }
  return out;
}

/**
 * What is wrong with the geo arguments of a form's data (absent ones are the
 * schema's `required` to judge).
 */
export function geoErrors(schema: JSONSchema7, data: unknown): IGeoError[] {
  const errors: IGeoError[] = [];
  for (const { path, spec, required } of geoFields(schema)) {
    let value: unknown = data;
    for (const key of path) {
      value =
        value && typeof value === 'object'
          ? (value as Record<string, unknown>)[key]
          : undefined;
    }
    if (isEmptyGeo(value)) {
      if (required && value !== undefined) {
        // (absent ones get the form's own "Enter a value")
        errors.push({
          path,
          message: 'Enter a value: draw it on the map or type its coordinates.'
        });
      }
      continue;
    }
    const message = validateGeo(value, spec);
    if (message) {
      errors.push({ path, message });
    }
  }
  return errors;
}

/**
 * Whether an rjsf error's `property` (`.area.coordinates.0`) is a geo
 * argument or inside one: those fields say their own, plainer message.
 */
export function isInsideGeoField(
  property: string | undefined,
  fields: ReadonlyArray<{ path: string[] }>
): boolean {
  if (!property) {
    return false;
  }
  const parts = property.replace(/^\./, '').split('.');
  return fields.some(
    f => f.path.length <= parts.length && f.path.every((k, i) => parts[i] === k)
  );
}
