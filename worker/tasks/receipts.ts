import { sweepParkedReceipts } from '../../src/lib/server/receipts/parked';
import type { TaskHandler } from '../task';

export const receiptsParked: TaskHandler<'receipts:parked'> = async () => {
	await sweepParkedReceipts();
};
