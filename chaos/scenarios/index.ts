import type { Scenario } from '../lib.js';
import { adminDay } from './admin-day.js';
import { broker } from './broker.js';
import { emulatorFaults } from './emulator-faults.js';
import { fuzz } from './fuzz.js';
import { kill9 } from './kill9.js';
import { rebalance } from './rebalance.js';
import { strictDay } from './strict-day.js';
import { webhookDay } from './webhook-day.js';

export const SCENARIOS: Scenario[] = [kill9, broker, rebalance, ...emulatorFaults, webhookDay, fuzz, strictDay, adminDay];
