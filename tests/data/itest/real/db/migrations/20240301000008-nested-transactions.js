'use strict';

// Nested managed transactions: the inner one is a savepoint of the outer one.
module.exports = {
  up: async (queryInterface, Sequelize) => {
    const { sequelize } = queryInterface;
    await sequelize.transaction(async (outer) => {
      await queryInterface.addColumn('audit_events', 'at', { type: Sequelize.DATE }, { transaction: outer });
      await sequelize.transaction({ transaction: outer }, async (inner) => {
        await queryInterface.bulkInsert('audit_events', [{ kind: 'nested', note: 'inner' }], { transaction: inner });
      });
    });
  },
  down: async (queryInterface) => {
    await queryInterface.bulkDelete('audit_events', { kind: 'nested' });
    await queryInterface.removeColumn('audit_events', 'at');
  },
};
