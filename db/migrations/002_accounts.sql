-- 002: users, sessions, a ledger of every money movement, idempotency keys;
-- orders get an owner and the times of payment and shipping.

CREATE TABLE users (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  username VARCHAR(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  pw_hash VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  role ENUM('user','admin') NOT NULL DEFAULT 'user',
  balance BIGINT NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY users_username (username),
  CONSTRAINT users_balance_nonneg CHECK (balance >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE sessions (
  token_hash BINARY(32) NOT NULL PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at DATETIME NOT NULL,
  revoked_at DATETIME NULL,
  KEY sessions_user (user_id),
  CONSTRAINT sessions_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE ledger (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  kind ENUM('credit','payment','refund','transfer_in','transfer_out') NOT NULL,
  amount BIGINT NOT NULL,
  order_id BIGINT UNSIGNED NULL,
  counterparty BIGINT UNSIGNED NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY ledger_user (user_id, id),
  -- at most one payment and one refund per order, whatever races
  UNIQUE KEY ledger_order_kind (order_id, kind),
  CONSTRAINT ledger_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT ledger_amount_nonzero CHECK (amount <> 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE idempotency (
  user_id BIGINT UNSIGNED NOT NULL,
  idem_key VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  request_hash BINARY(32) NOT NULL,
  status SMALLINT NOT NULL DEFAULT 0,
  location VARCHAR(1024) NULL,
  body MEDIUMBLOB NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (user_id, idem_key),
  KEY idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

ALTER TABLE orders
  ADD COLUMN paid_at DATETIME NULL AFTER created_at,
  ADD COLUMN shipped_at DATETIME NULL AFTER paid_at,
  ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id);
