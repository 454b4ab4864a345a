import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
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
  @ApiOperation({ summary: 'The public keys dispatch grants verify against (no token)' })
  @ApiOkResponse({
    description: 'A JWK Set of Ed25519 public keys (`kty: OKP`, `crv: Ed25519`, `kid`)',
    schema: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'object' } } } },
  })
  jwks(): Jwks {
    return this.signer.publicJwks();
  }
}
