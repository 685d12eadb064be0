'use strict';
// Raw SQL through queryInterface.sequelize, portable between PostgreSQL and MariaDB.
module.exports = {
  up: async (queryInterface) => {
    await queryInterface.sequelize.query('CREATE TABLE audit_log (id INTEGER PRIMARY KEY, note VARCHAR(20))');
    await queryInterface.sequelize.query("INSERT INTO audit_log (id, note) VALUES (1, 'created')");
  },
  down: async (queryInterface) => {
    await queryInterface.sequelize.query('DROP TABLE audit_log');
  }
};
