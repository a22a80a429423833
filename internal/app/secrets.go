package app

import (
	"context"

	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/cloud"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/notify"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

// RotateSecretKey seals every secret at rest (cloud credentials, TOTP
// secrets, notification channels and ticket credentials) again under newKey, in one transaction: either all of them move
// to the new key or none does. Processes still holding the old key cannot
// open what was resealed, so they must be restarted with the new one.
func (a *App) RotateSecretKey(ctx context.Context, newKey []byte) (accounts, totp, integrations int, err error) {
	to, err := secrets.NewBox(newKey)
	if err != nil {
		return 0, 0, 0, err
	}
	err = a.Registry.Get(db.Platform).AsSystem(ctx, func(q db.Querier) error {
		var err error
		if accounts, err = cloud.ResealTx(ctx, q, a.box, to); err != nil {
			return err
		}
		if totp, err = auth.ResealMFASecretsTx(ctx, q, a.box, to); err != nil {
			return err
		}
		integrations, err = notify.ResealTx(ctx, q, a.box, to)
		return err
	})
	return accounts, totp, integrations, err
}
