'use strict';
module.exports = {
  up: async (queryInterface, Sequelize) => {
    await queryInterface.createTable('Halfway', { id: { type: Sequelize.INTEGER, primaryKey: true } });
    await queryInterface.addColumn('Users', 'extra', { type: Sequelize.INTEGER });
    throw new Error('boom half-way');
  },
  down: async () => {}
};
