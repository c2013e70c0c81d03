-- 001: goods, products, restocks, orders and their lines.
-- InnoDB everywhere (transactions, row locks), utf8mb4 text, money in integer cents.

CREATE TABLE goods (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  sales BIGINT NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE products (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  goods_id BIGINT UNSIGNED NULL,
  name VARCHAR(200) NOT NULL,
  price BIGINT NOT NULL,
  stock BIGINT NOT NULL,
  initial_stock BIGINT NOT NULL,
  sales BIGINT NOT NULL DEFAULT 0,
  version BIGINT UNSIGNED NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT products_goods FOREIGN KEY (goods_id) REFERENCES goods (id),
  CONSTRAINT products_stock_nonneg CHECK (stock >= 0),
  CONSTRAINT products_price_nonneg CHECK (price >= 0),
  CONSTRAINT products_sales_nonneg CHECK (sales >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE restocks (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  product_id BIGINT UNSIGNED NOT NULL,
  quantity BIGINT NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY restocks_product (product_id),
  CONSTRAINT restocks_product FOREIGN KEY (product_id) REFERENCES products (id),
  CONSTRAINT restocks_positive CHECK (quantity > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NULL,
  status ENUM('placed','paid','shipped','aborted') NOT NULL DEFAULT 'placed',
  pay_method ENUM('balance','cod') NOT NULL,
  total_count BIGINT NOT NULL,
  freight BIGINT NOT NULL,
  total_amount BIGINT NOT NULL,
  created_at DATETIME NOT NULL,
  aborted_at DATETIME NULL,
  KEY orders_user (user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE order_lines (
  order_id BIGINT UNSIGNED NOT NULL,
  product_id BIGINT UNSIGNED NOT NULL,
  quantity BIGINT NOT NULL,
  price BIGINT NOT NULL,
  PRIMARY KEY (order_id, product_id),
  KEY order_lines_product (product_id),
  CONSTRAINT order_lines_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT order_lines_product FOREIGN KEY (product_id) REFERENCES products (id),
  CONSTRAINT order_lines_quantity CHECK (quantity > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
