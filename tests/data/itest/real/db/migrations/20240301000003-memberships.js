'use strict';

// An unmanaged transaction: the migration commits or rolls back itself.
module.exports = {
  async up(queryInterface, Sequelize) {
    const transaction = await queryInterface.sequelize.transaction();
    try {
      await queryInterface.createTable('memberships', {
        userId: {
          type: Sequelize.INTEGER, allowNull: false, primaryKey: true,
          references: { model: 'users', key: 'id' }, onDelete: 'CASCADE',
        },
        orgId: {
          type: Sequelize.INTEGER, allowNull: false, primaryKey: true,
          references: { model: 'orgs', key: 'id' }, onDelete: 'CASCADE',
        },
      }, { transaction });
      await queryInterface.addColumn('users', 'role', {
        type: Sequelize.STRING(20), allowNull: false, defaultValue: 'member',
      }, { transaction });
      await transaction.commit();
    } catch (err) {
      await transaction.rollback();
      throw err;
    }
  },

  async down(queryInterface) {
    const transaction = await queryInterface.sequelize.transaction();
    try {
      await queryInterface.removeColumn('users', 'role', { transaction });
      await queryInterface.dropTable('memberships', { transaction });
      await transaction.commit();
    } catch (err) {
      await transaction.rollback();
      throw err;
    }
  },
};
