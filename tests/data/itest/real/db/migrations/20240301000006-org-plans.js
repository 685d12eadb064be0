'use strict';

// Validates with a trial insert that it rolls back itself, then does the real change.
module.exports = {
  async up(queryInterface, Sequelize) {
    const probe = await queryInterface.sequelize.transaction();
    await queryInterface.bulkInsert('orgs', [
      { slug: 'probe', plan: 'free', createdAt: new Date(), updatedAt: new Date() },
    ], { transaction: probe });
    await probe.rollback();
    await queryInterface.addColumn('orgs', 'seats', {
      type: Sequelize.INTEGER, allowNull: false, defaultValue: 5,
    });
  },

  async down(queryInterface) {
    await queryInterface.removeColumn('orgs', 'seats');
  },
};
