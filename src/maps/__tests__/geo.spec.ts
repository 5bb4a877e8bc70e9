import type { JSONSchema7 } from 'json-schema';
import {
  formatGeo,
  geoErrors,
  geoSpecOf,
  isEmptyGeo,
  isInsideGeoField,
  parseGeo,
  validateGeo
} from '../geo';

const POLYGON: JSONSchema7 = {
  type: 'object',
  properties: {
    type: { enum: ['Polygon'], default: 'Polygon' },
    coordinates: { type: 'array' }
  }
};

describe('geoSpecOf', () => {
  it('reads the backend annotation', () => {
    expect(
      geoSpecOf({ 'x-geo': 'BBox', type: 'array' } as unknown as JSONSchema7)
    ).toEqual({ kind: 'BBox' });
    expect(
      geoSpecOf({
        'x-geo': 'FeatureCollection',
        'x-geo-geometry': 'Polygon'
      } as unknown as JSONSchema7)
    ).toEqual({ kind: 'FeatureCollection', geometry: 'Polygon' });
  });

  it('recognises an unannotated GeoJSON model by its shape', () => {
    expect(geoSpecOf(POLYGON)).toEqual({ kind: 'Polygon' });
    expect(
      geoSpecOf({
        type: 'object',
        properties: {
          type: { const: 'Feature' },
          geometry: {
            anyOf: [
              {
                type: 'object',
                properties: {
                  type: { const: 'Point' },
                  coordinates: { type: 'array' }
                }
              },
              { type: 'null' }
            ]
          }
        }
      })
    ).toEqual({ kind: 'Feature', geometry: 'Point' });
  });

  it('leaves other objects alone', () => {
    expect(
      geoSpecOf({
        type: 'object',
        properties: { type: { const: 'station' }, coordinates: {} }
      })
    ).toBeNull();
    expect(geoSpecOf({ type: 'string' })).toBeNull();
  });
});

describe('validateGeo', () => {
  const polygon = { kind: 'Polygon' as const };

  it('accepts a closed ring in range', () => {
    expect(
      validateGeo(
        {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [1, 0],
              [1, 1],
              [0, 0]
            ]
          ]
        },
        polygon
      )
    ).toBeNull();
  });

  it('refuses an unclosed ring, saying which position to repeat', () => {
    const message = validateGeo(
      {
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 1]
          ]
        ]
      },
      polygon
    );
    expect(message).toContain('not closed');
    expect(message).toContain('[0, 0]');
  });

  it('refuses latitude 91 and longitude 181', () => {
    expect(
      validateGeo({ type: 'Point', coordinates: [10, 91] }, { kind: 'Point' })
    ).toBe('Latitude 91 is out of range: latitude is between -90 and 90.');
    expect(
      validateGeo({ type: 'Point', coordinates: [181, 0] }, { kind: 'Point' })
    ).toContain('longitude is between -180 and 180');
  });

  it('refuses the wrong type and too short rings', () => {
    expect(validateGeo({ type: 'Point', coordinates: [0, 0] }, polygon)).toBe(
      'Expected a Polygon, not a Point.'
    );
    expect(
      validateGeo(
        {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [1, 0],
              [0, 0]
            ]
          ]
        },
        polygon
      )
    ).toContain('at least 4 positions');
  });

  it('checks boxes and features', () => {
    expect(validateGeo([5, 47, 15, 55], { kind: 'BBox' })).toBeNull();
    expect(validateGeo([5, 56, 15, 55], { kind: 'BBox' })).toContain(
      'South (56) is north of north (55)'
    );
    expect(validateGeo([5, 47, 15], { kind: 'BBox' })).toContain(
      'four numbers'
    );
    expect(
      validateGeo(
        {
          type: 'FeatureCollection',
          features: [
            {
              type: 'Feature',
              properties: {},
              geometry: { type: 'Point', coordinates: [0, 0] }
            }
          ]
        },
        { kind: 'FeatureCollection', geometry: 'Polygon' }
      )
    ).toBe('Feature 1: expected a Polygon, not a Point.');
  });
});

describe('parseGeo and formatGeo', () => {
  it('takes bare coordinates for a geometry and four numbers for a box', () => {
    expect(parseGeo('[13.06, 52.38]', { kind: 'Point' })).toEqual({
      value: { type: 'Point', coordinates: [13.06, 52.38] }
    });
    expect(parseGeo('5, 47, 15, 55', { kind: 'BBox' })).toEqual({
      value: [5, 47, 15, 55]
    });
    expect(parseGeo('', { kind: 'Point' })).toEqual({ value: undefined });
  });

  it('says what is wrong with text that does not read', () => {
    expect(parseGeo('[1, 2', { kind: 'Polygon' }).error).toMatch(
      /^This is not GeoJSON/
    );
    expect(parseGeo('west', { kind: 'BBox' }).error).toContain('four numbers');
  });

  it('writes a value back as text that reads again', () => {
    const value = {
      type: 'Polygon',
      coordinates: [
        [
          [1.123456789, 40],
          [3, 40],
          [3, 42],
          [1.123456789, 40]
        ]
      ]
    };
    const text = formatGeo(value);
    expect(text).toContain('[1.123457, 40]');
    expect(parseGeo(text, { kind: 'Polygon' }).error).toBeUndefined();
    expect(formatGeo({ type: 'Polygon' })).toBe('');
    expect(formatGeo([5, 47, 15.1234567, 55])).toBe('5, 47, 15.123457, 55');
  });
});

describe('the form checks', () => {
  const schema: JSONSchema7 = {
    type: 'object',
    properties: { area: POLYGON, name: { type: 'string' } },
    required: ['area']
  };

  it('finds the geo fields and their problems', () => {
    expect(
      geoErrors(schema, {
        area: {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [1, 91],
              [1, 1],
              [0, 0]
            ]
          ]
        }
      })
    ).toEqual([
      {
        path: ['area'],
        message:
          'Latitude 91 is out of range: latitude is between -90 and 90 (the ring, point 2).'
      }
    ]);
    // What the form fills in from the schema's constant is no value yet.
    expect(isEmptyGeo({ type: 'Polygon' })).toBe(true);
    expect(geoErrors(schema, { area: { type: 'Polygon' } })[0].message).toMatch(
      /^Enter a value/
    );
    expect(geoErrors(schema, {})).toEqual([]);
  });

  it("drops the schema validator's messages inside a geo field", () => {
    const fields = [{ path: ['area'] }];
    expect(isInsideGeoField('.area.coordinates.0', fields)).toBe(true);
    expect(isInsideGeoField('.area', fields)).toBe(true);
    expect(isInsideGeoField('.name', fields)).toBe(false);
  });
});
