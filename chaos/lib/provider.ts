/** The tests' fake HTTP provider (records each request and its Idempotency-Key; misbehaves on demand). */
export { startFakeProvider, type Behaviour, type RecordedRequest } from '../../tests/fake-provider';
