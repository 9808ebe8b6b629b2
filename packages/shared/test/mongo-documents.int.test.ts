import {
  Binary,
  BSONRegExp,
  type Collection,
  Decimal128,
  type Document,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  MongoClient,
  MongoServerError,
  ObjectId,
  Timestamp,
} from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeMongoServer, startFakeMongo } from './fixtures/mongo-wire.js';

/**
 * The fake mongod's documents (test/fixtures/mongo-documents.ts) through the real driver, against
 * MongoDB's documented behaviour: what the store contract relies on, checked on its own, so a
 * contract run against the fake means what a run against a real server would.
 */

let server: FakeMongoServer;
let client: MongoClient;
let collection: Collection;
let run = 0;

beforeAll(async () => {
  server = await startFakeMongo();
  client = await new MongoClient(`mongodb://${server.host}:${server.port}/`, {
    directConnection: true,
  }).connect();
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

// A fresh collection per test.
beforeEach(() => {
  collection = client.db('fake_test').collection(`c${run++}`);
});

afterEach(async () => {
  await collection.drop();
});

const idsOf = async (filter: Document, sort: Document = { _id: 1 }) =>
  (await collection.find(filter).sort(sort).toArray()).map((doc) => doc._id);

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as MongoServerError,
  );

describe('BSON types', () => {
  it('come back as written: int32, double, long, decimal128, binary, date, ObjectId; _id first', async () => {
    const written = {
      int: new Int32(5),
      double: new Double(5),
      long: Long.fromString('9007199254740993'),
      decimal: Decimal128.fromString('1.10'),
      binary: new Binary(Buffer.from('00112233445566778899aabbccddeeff', 'hex'), 4),
      date: new Date('2024-05-01T10:00:00.123Z'),
      nested: { list: [new Int32(1), 'x', null], empty: {} },
      nothing: null,
    };
    await collection.insertOne({ ...written });
    const [read = {} as Document] = await collection.find({}, { promoteValues: false }).toArray();
    expect(read).toEqual({ _id: read._id, ...written });
    // toEqual does not compare classes: the BSON type of every value, one by one.
    const types = Object.fromEntries(
      Object.entries(read).map(([key, value]) => [
        key,
        (value as { _bsontype?: string } | null)?._bsontype ?? value?.constructor?.name ?? value,
      ]),
    );
    expect(types).toEqual({
      _id: 'ObjectId',
      int: 'Int32',
      double: 'Double',
      long: 'Long',
      decimal: 'Decimal128',
      binary: 'Binary',
      date: 'Date',
      nested: 'Object',
      nothing: null,
    });
    expect(String(read.long)).toBe('9007199254740993');
    expect(read.binary.sub_type).toBe(4);
    expect(read.nested.list[0]._bsontype).toBe('Int32');

    // mongod moves `_id` to the front of an inserted document.
    await client
      .db('fake_test')
      .command({ insert: collection.collectionName, documents: [{ a: 1, _id: 7 }] });
    expect(Object.keys((await collection.findOne({ _id: 7 as never })) ?? {})).toEqual(['_id', 'a']);
  });

  it('sort in BSON order across types; strings by UTF-8 bytes, not UTF-16 code units', async () => {
    const values: [string, unknown][] = [
      ['maxKey', new MaxKey()],
      ['regex', new BSONRegExp('a', 'i')],
      ['timestamp', new Timestamp({ t: 1, i: 1 })],
      ['date', new Date(0)],
      ['true', true],
      ['false', false],
      ['objectId', new ObjectId('000000000000000000000001')],
      ['binary', new Binary(Buffer.from('ab'))],
      ['object', { a: 1 }],
      ['emoji', '\u{1F600}'],
      ['fullwidth A', '\uFF21'],
      ['a', 'a'],
      ['B', 'B'],
      ['long 2', Long.fromNumber(2)],
      ['double 1.5', 1.5],
      ['int 1', 1],
      ['null', null],
      ['minKey', new MinKey()],
    ];
    await collection.insertMany([
      ...values.map(([_id, v]) => ({ _id: _id as never, v })),
      { _id: 'missing' as never },
    ]);
    const expected = [
      'minKey',
      'null',
      'missing', // missing sorts as null; ties keep natural order
      'int 1',
      'double 1.5',
      'long 2',
      'B',
      'a',
      'fullwidth A', // U+FF21 is EF BC A1 in UTF-8 ...
      'emoji', // ... and U+1F600 F0 9F 98 80, though JavaScript's UTF-16 order puts it first
      'object',
      'binary',
      'objectId',
      'false',
      'true',
      'date',
      'timestamp',
      'regex',
      'maxKey',
    ];
    expect(['\u{1F600}', '\uFF21'].sort()).toEqual(['\u{1F600}', '\uFF21']);
    expect(await idsOf({}, { v: 1 })).toEqual(expected);
    // Descending: the reverse, except that ties (null and missing) keep natural order.
    expect(await idsOf({}, { v: -1 })).toEqual([...expected.slice(3).reverse(), 'null', 'missing', 'minKey']);
  });

  it('sort an array by its smallest element ascending and its largest descending; [] before null', async () => {
    await collection.insertMany([
      { _id: 'pair' as never, v: [3, 1] },
      { _id: 'two' as never, v: 2 },
      { _id: 'empty' as never, v: [] },
      { _id: 'null' as never, v: null },
    ]);
    expect(await idsOf({}, { v: 1 })).toEqual(['empty', 'null', 'pair', 'two']);
    expect(await idsOf({}, { v: -1 })).toEqual(['pair', 'two', 'null', 'empty']);
  });
});

describe('queries', () => {
  it('null matches null and missing; comparisons stay within the operand’s type', async () => {
    await collection.insertMany([
      { _id: 1 as never },
      { _id: 2 as never, v: null },
      { _id: 3 as never, v: 0 },
      { _id: 4 as never, v: '' },
      { _id: 5 as never, v: false },
      { _id: 6 as never, v: new Date(0) },
      { _id: 7 as never, v: '1970-01-01' },
      { _id: 8 as never, v: [null, 1] },
    ]);
    expect(await idsOf({ v: null })).toEqual([1, 2, 8]);
    expect(await idsOf({ v: { $ne: null } })).toEqual([3, 4, 5, 6, 7]);
    expect(await idsOf({ v: { $exists: false } })).toEqual([1]);
    expect(await idsOf({ v: { $exists: true } })).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(await idsOf({ v: { $lt: new Date(1) } })).toEqual([6]);
    expect(await idsOf({ v: { $gte: 0 } })).toEqual([3, 8]);
    expect(await idsOf({ v: { $gt: '' } })).toEqual([7]);
    expect(await idsOf({ v: { $in: [null, false] } })).toEqual([1, 2, 5, 8]);
    expect(await idsOf({ v: { $nin: [null, false] } })).toEqual([3, 4, 6, 7]);
    expect(await idsOf({ v: { $lte: null } })).toEqual([1, 2, 8]);
    expect(await idsOf({ v: { $lt: null } })).toEqual([]);
    expect(await idsOf({ v: { $not: { $gt: 0 } } })).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('numbers equal across int32, long and double', async () => {
    await collection.insertMany([
      { _id: 1 as never, v: new Int32(1) },
      { _id: 2 as never, v: new Double(1) },
      { _id: 3 as never, v: Long.fromNumber(1) },
      { _id: 4 as never, v: new Double(1.5) },
      { _id: 5 as never, v: Long.fromString('9007199254740993') },
    ]);
    expect(await idsOf({ v: 1 })).toEqual([1, 2, 3]);
    expect(await idsOf({ v: { $gt: Long.fromNumber(1) } })).toEqual([4, 5]);
    // 2^53 + 1 as a long is greater than the double 2^53, which it would equal as a JS number.
    expect(await idsOf({ v: { $gt: 2 ** 53 } })).toEqual([5]);
  });

  it('$elemMatch needs one element to match every condition; dotted paths may use different ones', async () => {
    await collection.insertMany([
      {
        _id: 1 as never,
        metadata: [
          { k: 'team', v: 'core' },
          { k: 'tier', v: 'web' },
        ],
      },
      { _id: 2 as never, metadata: [{ k: 'team', v: 'web' }] },
    ]);
    expect(await idsOf({ metadata: { $elemMatch: { k: 'team', v: 'web' } } })).toEqual([2]);
    expect(await idsOf({ 'metadata.k': 'team', 'metadata.v': 'web' })).toEqual([1, 2]);
    expect(await idsOf({ $and: [{ 'metadata.k': 'tier' }, { _id: { $gte: 1 } }] })).toEqual([1]);
    expect(await idsOf({ $or: [{ 'metadata.v': 'core' }, { _id: 2 }] })).toEqual([1, 2]);
  });

  it('count, skip, limit, projection, and cursors past the first batch of 101', async () => {
    await collection.insertMany(
      Array.from({ length: 250 }, (_, i) => ({ _id: i as never, even: i % 2 === 0, i })),
    );
    expect(await collection.countDocuments({})).toBe(250);
    expect(await collection.countDocuments({ even: true }, { skip: 100, limit: 10 })).toBe(10);
    const page = await collection.find({}).sort({ _id: -1 }).skip(10).limit(200).toArray();
    expect(page.map((d) => d._id)).toEqual(Array.from({ length: 200 }, (_, i) => 239 - i));
    expect(server.commands().some((c) => c.name === 'getMore')).toBe(true);
    expect(await collection.findOne({ _id: 3 as never }, { projection: { i: 1 } })).toEqual({ _id: 3, i: 3 });
    expect(await collection.findOne({ _id: 3 as never }, { projection: { _id: 0, even: 0 } })).toEqual({
      i: 3,
    });
    expect((await failure(collection.findOne({}, { projection: { i: 1, even: 0 } })))?.code).toBe(31254);
  });
});

describe('unique indexes', () => {
  const live = { organizationId: 1, configNameKey: 1 };

  it('a unique partial index refuses a second live key with mongod’s E11000, ignores documents outside it', async () => {
    const ns = `fake_test.${collection.collectionName}`;
    await collection.createIndex(live, {
      name: 'live',
      unique: true,
      partialFilterExpression: { deleted: false },
    });
    await collection.insertOne({ _id: 1 as never, organizationId: 'o', configNameKey: 'a', deleted: false });
    await collection.insertOne({ _id: 2 as never, organizationId: 'o', configNameKey: 'a', deleted: true });
    await collection.insertOne({ _id: 3 as never, organizationId: 'p', configNameKey: 'a', deleted: false });

    const onInsert = await failure(
      collection.insertOne({ _id: 4 as never, organizationId: 'o', configNameKey: 'a', deleted: false }),
    );
    expect(onInsert).toBeInstanceOf(MongoServerError);
    expect(onInsert).toMatchObject({
      code: 11000,
      keyPattern: live,
      keyValue: { organizationId: 'o', configNameKey: 'a' },
      message: `E11000 duplicate key error collection: ${ns} index: live dup key: { organizationId: "o", configNameKey: "a" }`,
    });
    // In a write command's writeErrors there is no codeName, as mongod sends it.
    const reply = await client.db('fake_test').command({
      insert: collection.collectionName,
      documents: [{ _id: 5, organizationId: 'o', configNameKey: 'a', deleted: false }],
    });
    expect(reply).toMatchObject({ n: 0, ok: 1 });
    expect(Object.keys(reply.writeErrors[0])).toEqual(['index', 'code', 'errmsg', 'keyPattern', 'keyValue']);

    // findAndModify: a command error, with codeName and the executor's prefix.
    const onUpdate = await failure(
      collection.findOneAndUpdate({ _id: 2 as never }, { $set: { deleted: false } }),
    );
    expect(onUpdate).toMatchObject({ code: 11000, codeName: 'DuplicateKey', keyPattern: live });
    expect(onUpdate?.message).toMatch(/^Plan executor error during findAndModify :: caused by :: E11000 /);
    // Leaving the index frees the key.
    await collection.updateOne({ _id: 1 as never }, { $set: { deleted: true } });
    await collection.updateOne({ _id: 2 as never }, { $set: { deleted: false } });

    const reusedId = await failure(collection.insertOne({ _id: 3 as never, organizationId: 'q' }));
    expect(reusedId).toMatchObject({ code: 11000, keyPattern: { _id: 1 }, keyValue: { _id: 3 } });
    expect(reusedId?.message).toContain(' index: _id_ dup key: { _id: 3 }');
  });

  it('a missing field is indexed as null; numbers of different types are one key', async () => {
    await collection.createIndex({ k: 1 }, { unique: true });
    await collection.insertOne({ _id: 1 as never });
    expect(await failure(collection.insertOne({ _id: 2 as never, k: null }))).toMatchObject({ code: 11000 });
    await collection.insertOne({ _id: 3 as never, k: new Int32(1) });
    expect(await failure(collection.insertOne({ _id: 4 as never, k: new Double(1) }))).toMatchObject({
      code: 11000,
    });
  });

  it('index builds: again is a no-op, a clash is refused, duplicates fail the build, listIndexes shows them', async () => {
    await collection.insertMany([
      { _id: 1 as never, a: 1 },
      { _id: 2 as never, a: 1 },
    ]);
    expect(await failure(collection.createIndex({ a: 1 }, { unique: true }))).toMatchObject({ code: 11000 });
    await collection.createIndex({ a: 1 }, { name: 'by_a' });
    const again = await client.db('fake_test').command({
      createIndexes: collection.collectionName,
      indexes: [{ key: { a: 1 }, name: 'by_a' }],
    });
    expect(again).toMatchObject({
      numIndexesBefore: 2,
      numIndexesAfter: 2,
      note: 'all indexes already exist',
    });
    expect(await failure(collection.createIndex({ b: 1 }, { name: 'by_a' }))).toMatchObject({
      code: 86,
      codeName: 'IndexKeySpecsConflict',
    });
    expect(await failure(collection.createIndex({ a: 1 }, { name: 'other' }))).toMatchObject({
      code: 85,
      codeName: 'IndexOptionsConflict',
    });
    expect(await collection.listIndexes().toArray()).toEqual([
      { v: 2, key: { _id: 1 }, name: '_id_' },
      { v: 2, key: { a: 1 }, name: 'by_a' },
    ]);
  });
});

describe('updates', () => {
  it('$inc keeps MongoDB’s types: int32 overflows into a long, a double stays a double', async () => {
    await collection.insertOne({
      _id: 1 as never,
      i: new Int32(2147483647),
      small: new Int32(1),
      d: new Double(1),
    });
    await collection.updateOne({ _id: 1 as never }, { $inc: { i: 1, small: 1, d: 1, fresh: 2 } });
    const [doc] = await collection.find({}, { promoteValues: false }).toArray();
    expect(doc?.i).toEqual(Long.fromNumber(2147483648));
    expect(doc?.small).toEqual(new Int32(2));
    expect(doc?.d).toEqual(new Double(2));
    expect(doc?.fresh).toEqual(new Int32(2));
  });

  it('$set and $unset: new fields in name order, matched but not modified, mongod’s refusals', async () => {
    await collection.insertOne({ _id: 1 as never, s: 'x', gone: 1 });
    const result = await collection.updateOne(
      { _id: 1 as never },
      { $set: { z: 1, b: 1 }, $unset: { gone: '' } },
    );
    expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(Object.keys((await collection.findOne({ _id: 1 as never })) ?? {})).toEqual([
      '_id',
      's',
      'b',
      'z',
    ]);
    expect(await collection.updateOne({ _id: 1 as never }, { $set: { s: 'x' } })).toMatchObject({
      matchedCount: 1,
      modifiedCount: 0,
    });
    // An empty operand has been a no-op since MongoDB 5.0.
    expect(await collection.updateOne({ _id: 1 as never }, { $set: { s: 'y' }, $unset: {} })).toMatchObject({
      modifiedCount: 1,
    });
    const refusals: [Document, number][] = [
      [{ $inc: { s: 1 } }, 14],
      [{ $set: { _id: 2 } }, 66],
      [{ $set: { b: 2 }, $unset: { b: '' } }, 40],
      [{ $set: { 'b.c': 1 } }, 28],
    ];
    for (const [update, code] of refusals) {
      expect(await failure(collection.updateOne({ _id: 1 as never }, update))).toMatchObject({ code });
    }
    expect(await collection.findOne({ _id: 1 as never })).toEqual({ _id: 1, s: 'y', b: 1, z: 1 });
  });
});

describe('the rest', () => {
  it('refuses what it does not implement (NotImplemented, 238) and what mongod refuses', async () => {
    await collection.insertOne({ _id: 1 as never, a: 'x' });
    // Write statements report it in writeErrors (no codeName there, as mongod sends them).
    const notImplemented = [
      () => collection.findOne({ a: { $regex: 'x' } }),
      () => collection.findOne({ a: 'x' }, { collation: { locale: 'en', strength: 2 } }),
      () => collection.updateOne({ _id: 2 as never }, { $set: { a: 1 } }, { upsert: true }),
      () => collection.updateOne({ _id: 1 as never }, { $push: { list: 1 } as Document }),
      () => collection.replaceOne({ _id: 1 as never }, { a: 'y' }),
    ];
    for (const attempt of notImplemented) {
      const error = await failure(attempt());
      expect(error).toMatchObject({ code: 238 });
      expect(error?.message).toMatch(/^the fake mongod does not implement /);
    }
    expect(await collection.findOne({ _id: 1 as never })).toEqual({ _id: 1, a: 'x' });
    expect(await failure(collection.findOne({ a: { $foo: 1 } }))).toMatchObject({
      code: 2,
      message: 'unknown operator: $foo',
    });
    expect(await failure(collection.findOne({ $and: [] }))).toMatchObject({ code: 2 });
  });

  it('collections and databases appear on first write and go with drop and dropDatabase', async () => {
    const db = client.db('fake_other');
    await db.collection('things').insertOne({ _id: 1 as never });
    expect((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name)).toEqual([
      'things',
    ]);
    expect(server.documents('fake_other', 'things')).toEqual([{ _id: 1 }]);
    expect(await db.collection('things').drop()).toBe(true);
    expect(await db.collection('things').drop()).toBe(true); // MongoDB 7.0: no error for a missing one
    await db.collection('again').insertOne({});
    await db.dropDatabase();
    const names = (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map(
      (d) => d.name,
    );
    expect(names).not.toContain('fake_other');
    expect(server.unknownCommands()).toEqual([]);
  });
});
