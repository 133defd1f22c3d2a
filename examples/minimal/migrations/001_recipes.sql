CREATE TABLE recipes (slug text PRIMARY KEY, title text NOT NULL);
INSERT INTO recipes VALUES ('bread', 'Bread');
