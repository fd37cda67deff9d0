import { describe, expect, test } from 'vitest';
import { Principal } from '@icp-sdk/core/principal';
import type { CredentialRequirement } from '../bindings/staking_hub.did';
import { inviteCodeProof, registrationNeeds } from './registration';

const requirement: CredentialRequirement = {
  issuer_canister_id: Principal.fromText('aaaaa-aa'),
  issuer_origin: 'https://issuer.example/',
  credential_type: 'ProofOfUniqueness',
  arguments: [],
  ii_canister_id: Principal.fromText('aaaaa-aa'),
  derivation_origin: 'https://app.example',
  ic_root_key_raw: [],
};

describe('registrationNeeds', () => {
  test('open needs nothing', () => {
    expect(registrationNeeds({ Open: null })).toMatchObject({ open: true, inviteCode: false, credential: false });
  });
  test('invite codes show the field', () => {
    const n = registrationNeeds({ InviteCode: null });
    expect(n).toMatchObject({ open: false, inviteCode: true, credential: false });
    expect(n.explanation).toMatch(/invite code/);
  });
  test('a credential alone cannot be collected by the app', () => {
    const n = registrationNeeds({ Credential: requirement });
    expect(n).toMatchObject({ open: false, inviteCode: false, credential: true });
    expect(n.explanation).toMatch(/"ProofOfUniqueness".*cannot request yet/);
  });
  test('either: the field, and the credential mentioned', () => {
    const n = registrationNeeds({ InviteCodeOrCredential: requirement });
    expect(n).toMatchObject({ open: false, inviteCode: true, credential: true });
    expect(n.explanation).toMatch(/invite code.*ProofOfUniqueness/);
  });
});

describe('inviteCodeProof', () => {
  test('trims the code and sends none when empty', () => {
    expect(inviteCodeProof('  k7-alpha \n')).toEqual([{ InviteCode: 'k7-alpha' }]);
    expect(inviteCodeProof('   ')).toEqual([]);
  });
});
