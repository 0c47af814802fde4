import { describe, expect, it } from 'vitest';
import { standardSignature, standardWebhookKey } from './webhook';

describe('Standard Webhooks signature', () => {
	it("matches the published test vector of the spec's reference library", () => {
		// standard-webhooks/libraries/javascript/src/webhook.test.ts, "sign function works".
		const key = standardWebhookKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
		expect(standardSignature(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
			'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
		);
	});

	it('uses a secret without the whsec_ prefix as its UTF-8 bytes (the libraries\' raw format)', () => {
		expect(standardWebhookKey('shh é')).toEqual(Buffer.from('shh é', 'utf8'));
		expect(standardWebhookKey('whsec_AAEC')).toEqual(Buffer.from([0, 1, 2]));
	});
});
