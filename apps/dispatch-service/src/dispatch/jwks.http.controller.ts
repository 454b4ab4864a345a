import { Controller, Get, Header } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Jwks } from '@signoff/keys';
import { Public } from '@signoff/runtime';
import { DispatchGrantSigner } from './dispatch-grant.signer';

/**
 * `GET /.well-known/jwks.json` (public, outside `/api/v1`): the public keys of the control plane's
 * signing key set, every key of it (the current one and those still rotating out), so workers can
 * point `SIGNOFF_GRANT_JWKS` here and pick up a new key without a restart.
 */
@ApiTags('keys')
@Controller('.well-known')
export class JwksHttpController {
  constructor(private readonly signer: DispatchGrantSigner) {}

  @Get('jwks.json')
  @Public()
  @Header('Cache-Control', 'public, max-age=300')
  jwks(): Jwks {
    return this.signer.publicJwks();
  }
}
