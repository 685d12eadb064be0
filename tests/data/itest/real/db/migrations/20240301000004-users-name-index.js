'use strict';

// Built without locking writes on PostgreSQL, which cannot do that inside a transaction.
const concurrently = (queryInterface) => queryInterface.sequelize.getDialect() === 'postgres';

module.exports = {
  async up(queryInterface) {
    await queryInterface.addIndex('users', ['name'], {
      name: 'users_name', concurrently: concurrently(queryInterface),
    });
  },

  async down(queryInterface) {
    await queryInterface.removeIndex('users', 'users_name', {
      concurrently: concurrently(queryInterface),
    });
  },
};
