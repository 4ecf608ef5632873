-- Why a watch is not running when that is not its owner's choice: a watch
-- is suspended (status 'suspended') when its owner's API key is revoked.
ALTER TABLE watches ADD COLUMN status_reason TEXT;
